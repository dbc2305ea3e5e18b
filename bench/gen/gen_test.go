package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFilesSameSQLForEveryTool(t *testing.T) {
	out := filepath.Join(t.TempDir(), "n")
	if err := files([]string{"-n", "8", "-out", out}); err != nil {
		t.Fatal(err)
	}
	native, _ := filepath.Glob(filepath.Join(out, "native", "*.sql"))
	goose, _ := filepath.Glob(filepath.Join(out, "goose", "*.sql"))
	gm, _ := filepath.Glob(filepath.Join(out, "golang-migrate", "*.up.sql"))
	if len(native) != 8 || len(goose) != 8 || len(gm) != 8 {
		t.Fatalf("files: native %d, goose %d, golang-migrate %d; want 8 each", len(native), len(goose), len(gm))
	}
	kinds := map[string]bool{}
	for i := range native {
		n, _ := os.ReadFile(native[i])
		g, _ := os.ReadFile(goose[i])
		m, _ := os.ReadFile(gm[i])
		if "-- +goose Up\n"+string(n) != string(g) || string(n) != string(m) {
			t.Errorf("%s: the SQL differs between the tools", filepath.Base(native[i]))
		}
		kinds[strings.Fields(string(n))[0]] = true
	}
	for _, k := range []string{"CREATE", "ALTER", "INSERT"} {
		if !kinds[k] {
			t.Errorf("no %s file among the first 8", k)
		}
	}
	driver, err := os.ReadFile(filepath.Join(out, "psql.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(driver), "BEGIN;\n\\i "); got != 8 {
		t.Errorf("psql driver: %d BEGIN/\\i pairs, want 8", got)
	}
	// Deterministic: a second run writes the same bytes.
	again := filepath.Join(t.TempDir(), "n")
	if err := files([]string{"-n", "8", "-out", again}); err != nil {
		t.Fatal(err)
	}
	for _, f := range native {
		a, _ := os.ReadFile(f)
		b, _ := os.ReadFile(filepath.Join(again, "native", filepath.Base(f)))
		if string(a) != string(b) {
			t.Errorf("%s differs between two runs", filepath.Base(f))
		}
	}
}

func TestReport(t *testing.T) {
	dir := t.TempDir()
	samples := strings.Join([]string{
		"apply\tpsql\t10\t1\t1.0\t0.2\t9000",
		"apply\tpsql\t10\t2\t3.0\t0.2\t9000",
		"apply\tpsql\t10\t3\t2.0\t0.2\t9000",
		"apply\tschemahook-nodev\t10\t1\t2.4\t0.5\t30000",
		"apply\tschemahook-nodev\t100\t1\t24.0\t5.0\t30000",
		"apply\tschemahook-dev\t10\t1\t5.0\t1.0\t30000",
		"apply\tgoose\t10\t1\t3.0\t0.4\t20000",
		"noop\tschemahook\t100\t1\t0.015\t0.01\t30000",
		"noop\tgoose\t100\t1\t0.020\t0.01\t30000",
		"noop\tpsql\t100\t1\t0.010\t0.01\t3000",
		"noop\tschemahook-start\t10\t1\t0.010\t0.01\t3000",
		"noop\tschemahook-start\t100\t1\t0.010\t0.01\t3000",
		"render\tschemahook\t10\t1\t0.040\t0.03\t70000",
		"render\tfloor\t10\t1\t0.020\t-\t-",
		"render\tschemahook\t100\t1\t0.5\t0.3\t70000",
		"render\tfloor\t100\t1\t0.1\t0.1\t2000",
		"",
	}, "\n")
	meta := "apply-n\t10\nbig-n\t100\nsmall-n\t1\nbig-runs\t1\nbytes-10\t2 KiB\nbytes-100\t20 KiB\ncommand\tapply psql x\ncommand\tapply goose y\n"
	for name, content := range map[string]string{"samples.tsv": samples, "meta.tsv": meta} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "RESULTS.md")
	if err := report([]string{"-samples", filepath.Join(dir, "samples.tsv"), "-meta", filepath.Join(dir, "meta.tsv"), "-out", out}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		"| 2.00 s | 1.00 s | 3.00 s |", // psql median, min, max
		"| 1.20x |",                    // schemahook / psql median
		// Scaling: wall / CPU at 1, 10 and 100 files, growth from 10 to 100.
		"| apply | schemahook `migrate apply --dev-url none --lint off` | – | 2.40 s / 500 ms | 24.0 s / 5.00 s | 10.0x |",
		"| render | schemahook `generate` | – | 40.0 ms / 30.0 ms | 500 ms / 300 ms | 12.5x |",
		// Targets.
		"apply 10 (dev replay and lint off): schemahook faster than goose | 2.40 s vs 3.00 s | yes |",
		"*aim:* apply 10 within 0.8x of the psql floor | 1.20x | **no** |",
		"nothing to do over 100 applied: schemahook faster than goose | 15.0 ms vs 20.0 ms | yes |",
		"*aim:* nothing to do over 100 applied within 2x of `SELECT 1` | 1.5x (15.0 ms vs 10.0 ms) | yes |",
		"hook default at 10 within apply + 2 s | 5.00 s vs 2.40 s + 2 s | **no** |",
		"render 10 files under 50 ms wall | 40.0 ms wall, 30.0 ms CPU | yes |",
		"render 100 files under 64 MiB max RSS | 68.4 MiB | **no** |",
		// (300-10)/20 = 14.5 ms/KiB against (30-10)/2 = 10 ms/KiB.
		"at 10 | 14.50 ms/KiB vs 10.00 ms/KiB (1.45x) | **no** |",
		"| **done** (every row above but the aims) | 6 conditions | **no** |",
		"apply psql x\napply goose y",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{1: "1", 100: "100", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
