// Package doctor checks a configuration against the real world (XMPP server,
// privileges, database, listen addresses, reply paths) and says how to fix it.
package doctor
