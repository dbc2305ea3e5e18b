// Package cmpbench measures the round trip of a render through Argo CD's real plugin server,
// for bench/run.sh (section 5 of bench/RESULTS.md). It holds no tests.
package cmpbench

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/schemahook/schemahook/e2e/argocd"
	"github.com/schemahook/schemahook/e2e/stories"
)

// BenchmarkCMPRender renders the app directory $BENCH_APP_DIR the way argocd-repo-server
// does with the schemahook sidecar: the repo-server's manifest generation streams the
// repository to an in-process argocd-cmp-server serving this repository's plugin.yaml, which
// runs `schemahook generate`; the manifests come back and are parsed. Beside it, the same
// `schemahook generate` run directly, so the difference is the plugin server's share.
// Reported: roundtrip-median-ns and direct-median-ns (per render), besides ns/op (mean).
func BenchmarkCMPRender(b *testing.B) {
	app := os.Getenv("BENCH_APP_DIR")
	if app == "" {
		b.Skip("BENCH_APP_DIR is not set: bench/run.sh points it at a generated app directory")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	binDir, cleanup, err := stories.BuildBinary(root)
	if err != nil {
		b.Fatal(err)
	}
	defer cleanup()

	// The repo-server sends the whole repository to the plugin: make one holding only the app.
	repo := b.TempDir()
	if err := os.CopyFS(filepath.Join(repo, "app"), os.DirFS(app)); err != nil {
		b.Fatal(err)
	}
	srv, err := argocd.Start(argocd.Options{PluginDir: root, BinDir: binDir})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	render := func() int {
		objs, err := srv.Render(ctx, repo, "app", "bench", "bench")
		if err != nil {
			b.Fatal(err)
		}
		return len(objs)
	}
	direct := func() {
		cmd := exec.Command(filepath.Join(binDir, "schemahook"), "generate", filepath.Join(repo, "app"))
		cmd.Env = append(os.Environ(), "ARGOCD_APP_NAME=bench", "ARGOCD_APP_NAMESPACE=bench")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
	if n := render(); n < 3 { // warm-up, and a check that the plugin rendered the app
		b.Fatalf("rendered %d objects, want at least the two ConfigMaps and the Job", n)
	}
	direct()

	var rt, d []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		render()
		rt = append(rt, time.Since(t))
	}
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		direct()
		d = append(d, time.Since(t))
	}
	b.ReportMetric(float64(median(rt).Nanoseconds()), "roundtrip-median-ns")
	b.ReportMetric(float64(median(d).Nanoseconds()), "direct-median-ns")
}

func median(v []time.Duration) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
