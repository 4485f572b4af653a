//go:build race

package faulttest

// raceEnabled: the test runs under -race, so the serve binary is built
// with it too and its logs are searched for data races.
const raceEnabled = true
