package migrations

import (
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/schemahook/schemahook/internal/cputime"
)

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
			start := cputime.Now()
			for b.Loop() {
				d, err := Read(fsys, Options{})
				if err != nil || len(d.Files) != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cputime.Now()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
