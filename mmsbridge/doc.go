// Package mmsbridge holds the transport-neutral form of an incoming MMS
// (Message, Part) and phone-number normalisation to E.164.
//
// The MM7 and e-mail bridges produce a Message; the profile rules consume it.
package mmsbridge
