// Package component keeps the XEP-0114 session to the XMPP server alive,
// tracks the XEP-0356 privileges each host grants, and sends privileged IQs.
//
// It answers disco#info for itself; everything it writes to a user's
// account goes through PrivilegedIQ, and only where the host granted it.
package component
