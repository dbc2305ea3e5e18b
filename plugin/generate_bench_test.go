package plugin

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/schemahook/schemahook/internal/cputime"
)

// BenchmarkGenerate renders app directories of 100, 1,000 and 10,000 generated native
// migrations (one table each, with an index and a comment). Target: 1,000 files under
// 50 ms and 64 MiB.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			app := b.TempDir()
			writeApp(b, app, n)
			env := Env{AppName: "bench", Revision: "0123456789abcdef"}
			b.ReportAllocs()
			start := cputime.Now()
			for b.Loop() {
				if err := Generate(io.Discard, app, env); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time (user+system) per generate, which a busy shared machine inflates
			// far less than wall time.
			b.ReportMetric(float64(cputime.Now()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

func writeApp(tb testing.TB, app string, n int) {
	tb.Helper()
	dir := filepath.Join(app, "migrations")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	cfg := "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata: {name: bench}\nspec:\n  url: {secretKeyRef: {name: pg, key: url}}\n"
	if err := os.WriteFile(filepath.Join(app, "schemahook.yaml"), []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		sql := fmt.Sprintf("CREATE TABLE t%[1]d (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  name text NOT NULL\n);\nCREATE INDEX t%[1]d_name_idx ON t%[1]d (name);\nCOMMENT ON TABLE t%[1]d IS 'table %[1]d';\n", i)
		name := fmt.Sprintf("%014d_t%d.sql", 20240101000000+i, i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
