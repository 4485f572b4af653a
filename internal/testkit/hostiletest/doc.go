// Package hostiletest is the one measurement hook of the hostile-peer
// tests: under HOSTILE_MEASURE=1 each defence test reports the time to
// refusal, the answer and the process's peak memory for scripts/hostile.sh.
package hostiletest
