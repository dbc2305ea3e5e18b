package migrations

import (
	"fmt"
	"syscall"
	"testing"
	"testing/fstest"
)

// cpuTime is the process's user+system CPU time, which a busy shared machine inflates far
// less than wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkRead measures reading generated native directories of realistic small files.
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		fsys := fstest.MapFS{}
		for i := range n {
			fsys[fmt.Sprintf("%014d_step_%d.sql", 20240101000000+i, i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
				"-- step %d\nCREATE TABLE t%d (id bigint PRIMARY KEY, name text NOT NULL DEFAULT '');\n"+
					"CREATE INDEX t%d_name_idx ON t%d (name);\n"+
					"CREATE FUNCTION f%d() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN %d; END; $$;\n", i, i, i, i, i, i))}
		}
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				d, err := Read(fsys, Options{})
				if err != nil || len(d.Files) != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
