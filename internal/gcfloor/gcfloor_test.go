package gcfloor

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSet: below the floor nothing is collected; the first collection gives the collector
// back its settings.
func TestSet(t *testing.T) {
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		if old, ok := os.LookupEnv(v); ok {
			require.NoError(t, os.Unsetenv(v))
			t.Cleanup(func() { os.Setenv(v, old) })
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	Set(256 << 20)
	keep := make([][]byte, 0, 16<<10)
	for range cap(keep) {
		keep = append(keep, make([]byte, 1<<10)) // 16 MiB in small objects, four 4 MiB heaps
	}
	runtime.ReadMemStats(&after)
	require.Equal(t, before.NumGC, after.NumGC, "collected below the floor")
	runtime.KeepAlive(keep)

	runtime.GC()
	for i := 0; debug.SetMemoryLimit(-1) != math.MaxInt64; i++ {
		require.Less(t, i, 1000, "the first collection did not restore the memory limit")
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, 100, debug.SetGCPercent(100))
}
