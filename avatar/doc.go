// Package avatar brings any phone picture to the operator's avatar standard:
// safe decode, orientation, square crop, resize, metadata-free PNG in budget.
package avatar
