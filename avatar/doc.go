// Package avatar brings any phone picture to the operator's avatar standard:
// it decodes safely, orients, centre-crops, resizes and re-encodes a metadata-free PNG within a byte budget.
package avatar
