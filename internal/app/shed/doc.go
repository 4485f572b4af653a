// Package shed bounds the MMS being processed at once: beyond the bound a
// new one is refused with "busy, retry later" instead of queueing in memory.
package shed
