// Command profile runs the code path of one schemahook command in-process under the Go CPU
// and heap profilers, so bench/NOTES.md can name where the time of a slow figure goes:
//
//	go run ./bench/profile -cpu cpu.out -mem mem.out -n 5 generate APPDIR
//	go run ./bench/profile -cpu cpu.out -n 5 noop -dir MIGRATIONS -url URL   # migrate apply, nothing pending
//	go run ./bench/profile -cpu cpu.out -n 3 apply -dir MIGRATIONS -url ADMIN_URL  # migrate apply --dev-url none into a fresh database per run (-lint off as the bench row)
//	go run ./bench/profile -cpu cpu.out -n 1 apply -dev ephemeral -dir MIGRATIONS -url ADMIN_URL  # the hook's default: dev replay and lint, then apply
//
// then `go tool pprof -top cpu.out`. It calls the same functions the CLI's RunE does
// (plugin.Generate, hooks.Run), N times, after one unprofiled warm-up.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/hooks"
	"github.com/schemahook/schemahook/plugin"
)

func main() {
	cpu := flag.String("cpu", "", "write a CPU profile here")
	mem := flag.String("mem", "", "write a heap profile (after the last run) here")
	n := flag.Int("n", 5, "runs to profile")
	flag.Parse()
	if flag.NArg() < 1 {
		fail(fmt.Errorf("usage: profile [-cpu F] [-mem F] [-n N] generate APPDIR | noop -dir D -url U"))
	}
	var run func() error
	switch flag.Arg(0) {
	case "generate":
		if flag.NArg() != 2 {
			fail(fmt.Errorf("generate APPDIR"))
		}
		env := plugin.EnvFrom(append(os.Environ(), "ARGOCD_APP_NAME=bench", "ARGOCD_APP_NAMESPACE=bench"))
		run = func() error { return plugin.Generate(io.Discard, flag.Arg(1), env) }
	case "noop":
		fs := flag.NewFlagSet("noop", flag.ExitOnError)
		dir := fs.String("dir", "", "migration directory")
		url := fs.String("url", "", "target database URL")
		fs.Parse(flag.Args()[1:])
		run = func() error {
			return hooks.Run(context.Background(), hooks.ModeApply, hooks.Options{
				Dir: *dir, URL: *url, Output: "json", Stdout: io.Discard, Stderr: io.Discard,
			})
		}
	case "apply":
		fs := flag.NewFlagSet("apply", flag.ExitOnError)
		dir := fs.String("dir", "", "migration directory")
		admin := fs.String("url", "", "URL of the server's postgres database (a fresh database is made per run)")
		dev := fs.String("dev", config.DevNone, "--dev-url: none, or ephemeral for the hook's default (a dev server is a child process, outside the profile)")
		lintPolicy := fs.String("lint", string(config.DefaultLintPolicy), "--lint: off for the apply row of the bench")
		fs.Parse(flag.Args()[1:])
		run = func() error {
			ctx := context.Background()
			c, err := pgx.Connect(ctx, *admin)
			if err != nil {
				return err
			}
			defer c.Close(ctx)
			for _, q := range []string{"DROP DATABASE IF EXISTS bench_profile_apply", "CREATE DATABASE bench_profile_apply"} {
				if _, err := c.Exec(ctx, q); err != nil {
					return err
				}
			}
			u, err := url.Parse(*admin)
			if err != nil {
				return err
			}
			u.Path = "/bench_profile_apply"
			return hooks.Run(ctx, hooks.ModeApply, hooks.Options{
				Dir: *dir, URL: u.String(), DevURL: *dev, Lint: *lintPolicy, Output: "json", Stdout: io.Discard, Stderr: io.Discard,
			})
		}
	default:
		fail(fmt.Errorf("unknown command %q", flag.Arg(0)))
	}
	if err := run(); err != nil { // warm-up (page cache, connections)
		fail(err)
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	var total time.Duration
	for i := 0; i < *n; i++ {
		t := time.Now()
		if err := run(); err != nil {
			fail(err)
		}
		total += time.Since(t)
	}
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%s: %d runs, mean %s; heap in use %d MiB, total allocated %d MiB (%.1f MiB per run)\n",
		flag.Arg(0), *n, (total / time.Duration(*n)).Round(time.Microsecond), ms.HeapInuse>>20, ms.TotalAlloc>>20,
		float64(ms.TotalAlloc)/float64(*n+1)/(1<<20))
	if *mem != "" {
		f, err := os.Create(*mem)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "profile:", err)
	os.Exit(1)
}
