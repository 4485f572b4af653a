// Package profile holds the rules: who sent an MMS, what it asks for, and
// what it changes on the linked account, committed before it is accepted.
package profile
