// Package mm7sample builds MM7 DeliverReq requests the way an MMSC sends
// them, and sample photos, for the demo, integration tests and benchmarks.
package mm7sample
