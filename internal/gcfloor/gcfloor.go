// Package gcfloor lets a short process allocate a first stretch of heap without the
// collector running.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
)

// Set turns the collector off until the heap reaches floor bytes, then back to what it
// was (GOGC=100 unless the environment says otherwise) from the first collection on.
//
// Go collects first at a 4 MiB heap, then each time the heap doubles: a command that
// allocates a few MiB and exits (a render of a thousand files, a nothing-to-do run) spends
// a tenth of its CPU collecting garbage it would free by exiting. Here the memory limit
// makes the first collection happen at floor, and the first collection ends the regime,
// so a large input is collected as before, its heap at most floor bigger early on. When
// GOGC or GOMEMLIMIT is set, the environment decides and Set does nothing.
func Set(floor int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(floor)
	// The sentinel is unreachable from the start, so the first collection, whatever
	// triggers it, runs its cleanup.
	sentinel := new([64]byte)
	runtime.AddCleanup(sentinel, func(int) {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}, 0)
}
