package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

type getFunc func(section, tool string, n int) (stats, bool)

// scaling writes every path at the three sizes: wall and CPU, the growth from n to big
// (files grow by big/n; the same factor is linear) and the profile of the path.
func scaling(w func(string, ...any), get getFunc, m meta, small, n, big int, profiles string) {
	w("## Scaling: every path at %s, %s and %s files\n\n", thousands(small), thousands(n), thousands(big))
	w("Wall / CPU, medians of %s (apply at %s files: %s). Growth is the %s-file wall time over the %s-file one: the files grow %.0fx, so %.0fx is linear. The profile named is the path's in \"CPU profiles\" below.\n\n",
		plural(m.get("apply-runs"), "run"), thousands(big), plural(m.get("big-runs"), "run"), thousands(big), thousands(n), float64(big)/float64(n), float64(big)/float64(n))
	w("| path | command | %s | %s | %s | growth | profile |\n|---|---|---:|---:|---:|---:|---|\n", thousands(small), thousands(n), thousands(big))
	rows := []struct{ path, section, tool, label, profile string }{
		{"apply", "apply", "psql", "psql floor (`BEGIN; \\i file; COMMIT;`)", ""},
		{"apply", "apply", "schemahook-nodev", "schemahook `migrate apply --dev-url none --lint off`", fmt.Sprintf("apply-%d", n)},
		{"apply", "apply", "schemahook-lint", "schemahook `migrate apply --dev-url none` (static lint)", ""},
		{"apply", "apply", "goose", "goose `up`", ""},
		{"apply", "apply", "golang-migrate", "golang-migrate `up`", ""},
		{"hook default", "apply", "schemahook-dev", "schemahook `migrate apply` (dev replay, lint, apply)", fmt.Sprintf("hook-%d", n)},
		{"nothing to do", "noop", "psql", "floor: `psql -c 'SELECT 1'`", ""},
		{"nothing to do", "noop", "schemahook-start", "`schemahook version` (process start)", ""},
		{"nothing to do", "noop", "schemahook", "schemahook `migrate apply`", fmt.Sprintf("noop-%d", big)},
		{"nothing to do", "noop", "goose", "goose `up`", ""},
		{"nothing to do", "noop", "golang-migrate", "golang-migrate `up`", ""},
		{"render", "render", "schemahook", "schemahook `generate`", fmt.Sprintf("generate-%d", big)},
		{"render", "render", "floor", "floor: `cat *.sql | sha256sum`", ""},
	}
	for _, r := range rows {
		w("| %s | %s |", r.path, r.label)
		for _, nn := range []int{small, n, big} {
			if st, ok := get(r.section, r.tool, nn); ok {
				w(" %s / %s |", dur(st.median), cpuDur(st.cpuMedian))
			} else {
				w(" – |")
			}
		}
		a, okA := get(r.section, r.tool, n)
		b, okB := get(r.section, r.tool, big)
		if okA && okB && a.median > 0 {
			w(" %.1fx |", b.median/a.median)
		} else {
			w(" – |")
		}
		if r.profile != "" && profiles != "" {
			if _, err := os.Stat(filepath.Join(profiles, r.profile+".txt")); err == nil {
				w(" %s |\n", r.profile)
				continue
			}
		}
		w(" |\n")
	}
	w("\n")
}

// targets writes the "Done when" of issue 12 computed from this run's medians: a row per
// condition, the aims beside them (reported, not required), and whether all are met.
func targets(w func(string, ...any), get getFunc, m meta, n, big int) {
	w("## Targets\n\nThe conditions of issue 12's \"Done when\", from this run's medians; rows marked *aim* are the issue's aims, reported but not required.\n\n")
	w("| target | measured | met |\n|---|---|:---:|\n")
	all, measured := true, 0
	row := func(aim bool, label, value string, ok bool) {
		met := "yes"
		if !ok {
			met = "**no**"
		}
		if aim {
			label = "*aim:* " + label
		} else {
			measured++
			all = all && ok
		}
		w("| %s | %s | %s |\n", label, value, met)
	}
	vs := func(a, b stats) string { return fmt.Sprintf("%s vs %s", dur(a.median), dur(b.median)) }

	sh, okSh := get("apply", "schemahook-nodev", n)
	for _, peer := range []string{"goose", "golang-migrate"} {
		if p, ok := get("apply", peer, n); ok && okSh {
			row(false, fmt.Sprintf("apply %s (dev replay and lint off): schemahook faster than %s", thousands(n), peer), vs(sh, p), sh.median < p.median)
		}
	}
	if f, ok := get("apply", "psql", n); ok && okSh {
		row(true, fmt.Sprintf("apply %s within 0.8x of the psql floor", thousands(n)), fmt.Sprintf("%.2fx", sh.median/f.median), sh.median <= 0.8*f.median)
	}
	noop, okNoop := get("noop", "schemahook", big)
	for _, peer := range []string{"goose", "golang-migrate"} {
		if p, ok := get("noop", peer, big); ok && okNoop {
			row(false, fmt.Sprintf("nothing to do over %s applied: schemahook faster than %s", thousands(big), peer), vs(noop, p), noop.median < p.median)
		}
	}
	if f, ok := get("noop", "psql", big); ok && okNoop {
		row(true, fmt.Sprintf("nothing to do over %s applied within 2x of `SELECT 1`", thousands(big)), fmt.Sprintf("%.1fx (%s vs %s)", noop.median/f.median, dur(noop.median), dur(f.median)), noop.median <= 2*f.median)
	}
	if d, ok := get("apply", "schemahook-dev", n); ok && okSh {
		row(false, fmt.Sprintf("hook default at %s within apply + 2 s", thousands(n)), fmt.Sprintf("%s vs %s + 2 s", dur(d.median), dur(sh.median)), d.median <= sh.median+2)
	}
	if g, ok := get("render", "schemahook", n); ok {
		row(false, fmt.Sprintf("render %s files under 50 ms wall", thousands(n)), fmt.Sprintf("%s wall, %s CPU", dur(g.median), cpuDur(g.cpuMedian)), g.median < 0.050)
	}
	if g, ok := get("render", "schemahook", big); ok {
		row(false, fmt.Sprintf("render %s files under 64 MiB max RSS", thousands(big)), mib(g.rssMedian), g.rssMedian >= 0 && g.rssMedian < 64*1024)
	}
	// Linear in bytes: the CPU per KiB of SQL, process start taken off, at big within 1.25x
	// of that at n.
	a, okA := get("render", "schemahook", n)
	b, okB := get("render", "schemahook", big)
	sa, okSa := get("noop", "schemahook-start", n)
	sb, okSb := get("noop", "schemahook-start", big)
	ka, kb := kib(m.get(fmt.Sprintf("bytes-%d", n))), kib(m.get(fmt.Sprintf("bytes-%d", big)))
	if okA && okB && okSa && okSb && ka > 0 && kb > 0 && a.cpuMedian > sa.cpuMedian {
		pa, pb := (a.cpuMedian-sa.cpuMedian)/ka, (b.cpuMedian-sb.cpuMedian)/kb
		row(false, fmt.Sprintf("render cost linear in bytes: CPU per KiB (process start off) at %s files within 1.25x of at %s", thousands(big), thousands(n)),
			fmt.Sprintf("%.2f ms/KiB vs %.2f ms/KiB (%.2fx)", pb*1000, pa*1000, pb/pa), pb <= 1.25*pa)
	}
	if measured > 0 {
		verdict := "**no**"
		if all {
			verdict = "yes"
		}
		w("| **done** (every row above but the aims) | %d conditions | %s |\n", measured, verdict)
	}
	w("\n")
}

// kib reads the "112 KiB" of a bytes-N meta line (0 when it is not one).
func kib(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, " KiB"), 64)
	if err != nil {
		return 0
	}
	return v
}

// plural writes "1 run", "3 runs".
func plural(count, noun string) string {
	if count == "1" {
		return count + " " + noun
	}
	return count + " " + noun + "s"
}
