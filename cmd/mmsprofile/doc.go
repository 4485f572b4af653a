// Command mmsprofile publishes the pictures and text phone users send by MMS
// onto their XMPP accounts; its sub-commands run, check and administer it.
package main
