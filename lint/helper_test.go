package lint

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/schemahook/schemahook/migrations"
)

// readDir reads SQL texts as one migration directory through migrations.Read, the way the
// CLI and the runtime read them. Files are named by position; a text starting with
// "-- +goose" makes it a goose directory.
func readDir(t testing.TB, texts ...string) []*migrations.File {
	t.Helper()
	fsys := fstest.MapFS{}
	goose := false
	for _, s := range texts {
		goose = goose || strings.HasPrefix(s, "-- +goose")
	}
	for i, s := range texts {
		name := fmt.Sprintf("2024010100%04d_m%d.sql", i+1, i+1)
		if goose {
			name = fmt.Sprintf("%05d_m%d.sql", i+1, i+1)
			if !strings.HasPrefix(s, "-- +goose") {
				s = "-- +goose Up\n" + s
			}
		}
		fsys[name] = &fstest.MapFile{Data: []byte(s)}
	}
	d, err := migrations.Read(fsys, migrations.Options{})
	if err != nil {
		t.Fatalf("reading test migrations: %v", err)
	}
	if len(d.Files) != len(texts) {
		t.Fatalf("read %d files, want %d", len(d.Files), len(texts))
	}
	return d.Files
}

// lintSQL lints the last text as the one pending file, the others being earlier files.
func lintSQL(t testing.TB, opts Options, texts ...string) Result {
	t.Helper()
	files := readDir(t, texts...)
	return Files(files[:len(files)-1], files[len(files)-1:], opts)
}

func codes(r Result) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	return out
}

func hasCode(r Result, code string) bool {
	for _, f := range r.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

var mapFS = testfs.MapFS

// everyRule is the error policy with the rules that are off by default turned on.
var everyRule = func() Policy {
	p := Policy{Default: LevelError, Rules: map[string]Level{}}
	for _, r := range Rules() {
		if r.Default == LevelOff {
			p.Rules[r.Code] = LevelWarn
		}
	}
	return p
}()
