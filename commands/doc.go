// Package commands is what an account holder can ask the component:
// XEP-0050 ad-hoc commands with XEP-0004 forms, and the same by chat.
package commands
