//go:build !race

package graph

// raceSlowdown is how much slower code runs under the race detector, for
// the CPU-time safety nets of tests.
const raceSlowdown = 1
