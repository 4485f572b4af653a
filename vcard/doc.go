// Package vcard merges our fields into a user's vcard-temp (XEP-0054) without touching the rest, says them again as
// the xCard of XEP-0292's vCard4, and reads the cards (vCard 2.1, 3.0, 4.0) a phone sends as a .vcf attachment.
package vcard
