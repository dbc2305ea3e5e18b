package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sample is one timed run, as bench/run.sh records it (tab-separated):
// section, tool, n, run, wall seconds, CPU seconds (user+system of the command and its
// children, "-" when not measured), max RSS in KiB ("-" when not measured).
type sample struct {
	section, tool string
	n             int
	seconds       float64
	cpu           float64 // <0: not measured
	rssKiB        float64 // <0: not measured
}

type key struct {
	section, tool string
	n             int
}

type stats struct {
	runs             int
	median, min, max float64
	rssMedian        float64 // KiB; <0: not measured
	cpuMedian        float64 // seconds; <0: not measured
}

func readSamples(path string) (map[key][]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[key][]sample{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		c := strings.Split(t, "\t")
		if len(c) != 7 {
			return nil, fmt.Errorf("%s:%d: want 7 tab-separated columns, got %d", path, line, len(c))
		}
		n, err1 := strconv.Atoi(c[2])
		sec, err2 := strconv.ParseFloat(c[4], 64)
		opt := func(v string) (float64, error) {
			if v == "-" {
				return -1, nil
			}
			return strconv.ParseFloat(v, 64)
		}
		cpu, err3 := opt(c[5])
		rss, err4 := opt(c[6])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, fmt.Errorf("%s:%d: bad number in %q", path, line, t)
		}
		s := sample{section: c[0], tool: c[1], n: n, seconds: sec, cpu: cpu, rssKiB: rss}
		k := key{s.section, s.tool, s.n}
		out[k] = append(out[k], s)
	}
	return out, sc.Err()
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(ss []sample) (st stats, ok bool) {
	if len(ss) == 0 {
		return st, false
	}
	var secs, rss, cpu []float64
	st.min, st.max = ss[0].seconds, ss[0].seconds
	for _, s := range ss {
		secs = append(secs, s.seconds)
		st.min = min(st.min, s.seconds)
		st.max = max(st.max, s.seconds)
		if s.rssKiB >= 0 {
			rss = append(rss, s.rssKiB)
		}
		if s.cpu >= 0 {
			cpu = append(cpu, s.cpu)
		}
	}
	st.runs, st.median, st.rssMedian, st.cpuMedian = len(ss), median(secs), -1, -1
	if len(rss) > 0 {
		st.rssMedian = median(rss)
	}
	if len(cpu) > 0 {
		st.cpuMedian = median(cpu)
	}
	return st, true
}

// dur prints seconds with a unit that keeps three significant figures.
func dur(s float64) string {
	switch {
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 0.1:
		return fmt.Sprintf("%.0f ms", s*1000)
	case s >= 0.01:
		return fmt.Sprintf("%.1f ms", s*1000)
	default:
		return fmt.Sprintf("%.2f ms", s*1000)
	}
}

func cpuDur(s float64) string {
	if s < 0 {
		return "–"
	}
	return dur(s)
}

func mib(kib float64) string {
	if kib < 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", kib/1024)
}

type meta struct {
	keys []string
	vals map[string]string
}

func (m meta) get(k string) string {
	if v, ok := m.vals[k]; ok {
		return v
	}
	return "(unknown)"
}

func readMeta(path string) (meta, error) {
	m := meta{vals: map[string]string{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, "\t")
		if !ok {
			continue
		}
		if _, seen := m.vals[k]; !seen {
			m.keys = append(m.keys, k)
			m.vals[k] = v
		} else {
			m.vals[k] += "\n" + v
		}
	}
	return m, nil
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	samplesPath := fs.String("samples", "", "samples.tsv written by run.sh")
	metaPath := fs.String("meta", "", "meta.tsv written by run.sh")
	notesPath := fs.String("notes", "", "hand-written analysis to append (optional)")
	profiles := fs.String("profiles", "", "directory of NAME.txt profile tops and NAME.summary lines (optional)")
	out := fs.String("out", "RESULTS.md", "output file")
	fs.Parse(args)
	all, err := readSamples(*samplesPath)
	if err != nil {
		return err
	}
	m, err := readMeta(*metaPath)
	if err != nil {
		return err
	}
	get := func(section, tool string, n int) (stats, bool) { return summarize(all[key{section, tool, n}]) }

	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# schemahook benchmarks\n\n")
	w("Written by `make bench` (bench/run.sh) on %s from one run of %s on one throwaway Postgres. ", m.get("date"), m.get("elapsed"))
	w("Every figure below comes from that run; raw samples are in the run's work directory (`samples.tsv`). ")
	w("Times are medians of whole commands (process start, connect, work, exit), as a CI job or an Argo CD hook pays them: wall clock, and CPU = user+system time of the command's processes (bash's `time`, to the millisecond; for database tools this leaves out the Postgres server's work), which a loaded machine inflates far less than wall time.\n\n")

	w("## Machine and versions\n\n| | |\n|---|---|\n")
	for _, k := range []string{"machine", "cpu", "memory", "os", "go", "postgres", "postgres settings", "dev server", "schemahook", "goose", "golang-migrate", "psql", "argo-cd"} {
		w("| %s | %s |\n", k, strings.ReplaceAll(m.get(k), "\n", "<br>"))
	}
	w("\nThe machine was shared with other work during the run (%s), so wall times carry noise; the CPU columns are the steadier comparison.\n\n", m.get("load"))

	// 1. Apply.
	n := 1000
	if v, err := strconv.Atoi(m.get("apply-n")); err == nil {
		n = v
	}
	big, small := 10000, 100
	if v, err := strconv.Atoi(m.get("big-n")); err == nil {
		big = v
	}
	if v, err := strconv.Atoi(m.get("small-n")); err == nil {
		small = v
	}
	floor, haveFloor := get("apply", "psql", n)
	w("## 1. Apply %s migrations onto an empty database\n\n", thousands(n))
	w("Each run gets a fresh database; every tool runs the same %d files (%s). Medians of %s runs.\n\n", n, m.get("mix"), m.get("apply-runs"))
	w("| tool | median | min | max | per file | vs psql floor | client CPU |\n|---|---:|---:|---:|---:|---:|---:|\n")
	applyTools := []struct{ tool, label string }{
		{"psql", "psql floor: one session, `BEGIN; \\i file; COMMIT;` per file"},
		{"schemahook-nodev", "schemahook `migrate apply --dev-url none --lint off`"},
		{"schemahook-lint", "schemahook `migrate apply --dev-url none` (lint without a database)"},
		{"schemahook-dev", "schemahook `migrate apply` (ephemeral dev replay, the default)"},
		{"goose", "goose `up`"},
		{"golang-migrate", "golang-migrate `up`"},
	}
	for _, t := range applyTools {
		st, ok := get("apply", t.tool, n)
		if !ok {
			w("| %s | not measured | | | | | |\n", t.label)
			continue
		}
		ratio := "–"
		if haveFloor {
			ratio = fmt.Sprintf("%.2fx", st.median/floor.median)
		}
		w("| %s | %s | %s | %s | %.2f ms | %s | %s |\n", t.label, dur(st.median), dur(st.min), dur(st.max), st.median/float64(n)*1000, ratio, cpuDur(st.cpuMedian))
	}
	w("\n")

	// 2. Nothing to do.
	w("## 2. Nothing to do (what every Argo CD sync pays)\n\n")
	w("All files applied by the tool itself beforehand, none pending; the command as a sync would run it. Medians of %s runs.\n\n", m.get("noop-runs"))
	noopTools := []struct{ tool, label string }{
		{"psql", "floor: `psql -c 'SELECT 1'` (start, connect, one query)"},
		{"schemahook-start", "schemahook process start alone (`schemahook version`)"},
		{"schemahook", "schemahook `migrate apply` (default flags)"},
		{"goose", "goose `up`"},
		{"golang-migrate", "golang-migrate `up`"},
	}
	w("| tool | %[1]s applied: wall | CPU | %[2]s applied: wall | CPU |\n|---|---:|---:|---:|---:|\n", thousands(n), thousands(big))
	for _, t := range noopTools {
		_, ok1 := get("noop", t.tool, n)
		_, ok2 := get("noop", t.tool, big)
		if !ok1 && !ok2 {
			continue // not part of this run
		}
		w("| %s |", t.label)
		for _, nn := range []int{n, big} {
			if st, ok := get("noop", t.tool, nn); ok {
				w(" %s | %s |", dur(st.median), cpuDur(st.cpuMedian))
			} else {
				w(" not measured | |")
			}
		}
		w("\n")
	}
	w("The databases are the apply runs' of each size (section 1 and the scaling table), every file applied by the tool itself; schemahook's by its `--dev-url none --lint off` run.\n\n")

	// 3. Render.
	w("## 3. Render: `schemahook generate`\n\n")
	w("An app directory (schemahook.yaml + migrations/ + schemahook.sum) rendered to the YAML stream, beside the floor of reading and hashing the same migration bytes (`cat migrations/*.sql | sha256sum`). Wall time and max RSS (GNU time `%%M`), medians of %s runs.\n\n", m.get("render-runs"))
	w("| files | bytes of SQL | generate: wall | CPU | max RSS | floor: wall | CPU | max RSS | wall vs floor | CPU vs floor |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, nn := range []int{small, n, big} {
		g, ok1 := get("render", "schemahook", nn)
		f, ok2 := get("render", "floor", nn)
		if !ok1 || !ok2 {
			w("| %s | | not measured | | | | | | | |\n", thousands(nn))
			continue
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %.1fx | %s |\n", thousands(nn), m.get(fmt.Sprintf("bytes-%d", nn)), dur(g.median), cpuDur(g.cpuMedian), mib(g.rssMedian), dur(f.median), cpuDur(f.cpuMedian), mib(f.rssMedian), g.median/f.median, cpuRatio(g, f))
	}
	w("\n")

	// 4. Dev replay.
	w("## 4. Dev replay\n\n")
	w("`schemahook migrate plan --dev-url ephemeral --lint off` against an empty target with %d pending files: start an ephemeral Postgres (while verify reads the history), replay every file on a fresh database; the copy replay, the pending files on a schema-only copy of the target, is skipped on an empty target, where it would repeat the fresh replay's %d files exactly. Medians of %s runs; the split comes from the command's own log lines.\n\n", n, n, m.get("dev-runs"))
	w("| step | median (wall) |\n|---|---:|\n")
	for _, t := range []struct{ tool, label string }{
		{"total", "whole command"},
		{"start", "ephemeral Postgres start (template copy, or initdb, then postgres)"},
		{"replay", "dev replay stage (from the start of the server to the replay passed)"},
	} {
		if st, ok := get("dev", t.tool, n); ok {
			w("| %s | %s |\n", t.label, dur(st.median))
		} else {
			w("| %s | not measured |\n", t.label)
		}
	}
	w("\n")

	// 5. CMP.
	w("## 5. Through Argo CD's plugin server\n\n")
	if st, ok := get("cmp", "roundtrip", n); ok {
		direct, okd := get("cmp", "direct", n)
		w("The repo-server's own manifest generation (`repository.GenerateManifests` of argo-cd %s) asking a real in-process argocd-cmp-server (unix socket, plugin.yaml of this repository) to render an app directory of %d files: discovery, tar streaming of the repository, `schemahook generate`, manifest parsing. From `%s`.\n\n", m.get("argo-cd"), n, m.get("cmp-command"))
		w("| | per render (median of %s) |\n|---|---:|\n| round trip through argocd-cmp-server | %s |\n", m.get("apply-runs"), dur(st.median))
		if okd {
			w("| `schemahook generate` of the same directory, run directly by the same benchmark | %s |\n| Argo CD's share (streaming, discovery, parsing) | %s |\n", dur(direct.median), dur(st.median-direct.median))
		}
		w("\n")
	} else {
		w("Not measured in this run: %s\n\n", m.get("cmp-missing"))
	}

	scaling(w, get, m, small, n, big, *profiles)
	targets(w, get, m, n, big)

	if *notesPath != "" {
		notes, err := os.ReadFile(*notesPath)
		if err != nil {
			return err
		}
		w("%s\n", strings.TrimSpace(string(notes)))
		w("\n")
	}

	if *profiles != "" {
		tops, _ := filepath.Glob(filepath.Join(*profiles, "*.txt"))
		if len(tops) > 0 {
			w("## CPU profiles from this run\n\n")
			w("The top remaining cost of each path, from its profile: `generate-*` is render, `noop-*` nothing to do, `apply-*` apply with `--dev-url none --lint off`, `hook-*` the hook's default (dev replay and lint, then apply; the dev server is a child process, so the profile holds the client's share only). ")
			w("`go tool pprof -top -cum` of the code paths above (frames of the Go runtime, gRPC middleware and the test harness left out). `generate-*`, `noop-*` and `apply-*` (where present; apply into a fresh database per run, `--dev-url none --lint off`) run the CLI's own functions (plugin.Generate, hooks.Run) in-process via bench/profile; `cmp` is the benchmark of section 5 (the repo-server side and argocd-cmp-server are both in that process; `schemahook generate` is a child process and not in it). Command: `%s`.\n\n", m.get("profile-command"))
		}
		for _, t := range tops {
			name := strings.TrimSuffix(filepath.Base(t), ".txt")
			top, err := os.ReadFile(t)
			if err != nil {
				return err
			}
			w("### %s\n\n", name)
			if sum, err := os.ReadFile(strings.TrimSuffix(t, ".txt") + ".summary"); err == nil {
				w("%s\n\n", strings.TrimSpace(string(sum)))
			}
			w("```\n%s\n```\n\n", strings.TrimSpace(string(top)))
		}
	}

	w("## Commands (exactly as run)\n\n")
	w("`$PG` is the throwaway server, `postgres://postgres@127.0.0.1:PORT` (no password: it trusts local connections), `$WORK` the run's work directory. Each line is the first command of its kind; the other sizes run the same command on their own directory (`$WORK/n<files>`, `$WORK/app<files>`) and database. Before each apply run the tool's database is dropped and created again.\n\n")
	w("```sh\n%s\n```\n", m.get("command"))
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

// thousands writes 10000 as 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// cpuRatio is a's CPU time over b's, "–" when either was not measured.
func cpuRatio(a, b stats) string {
	if a.cpuMedian <= 0 || b.cpuMedian <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1fx", a.cpuMedian/b.cpuMedian)
}
