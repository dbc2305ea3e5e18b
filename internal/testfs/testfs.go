// Package testfs gives tests migration directories: written from a map of names to
// contents, on disk or in memory, and the checked-in directories of every format.
package testfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// WriteDir writes files (slash paths to contents) into a new temporary directory and
// returns its path.
func WriteDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	WriteFiles(t, dir, files)
	return dir
}

// WriteFiles writes files (slash paths relative to dir, parents made as needed).
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("testfs: %v", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatalf("testfs: %v", err)
		}
	}
}

// MapFS is files (names to contents) as an in-memory file system.
func MapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
	}
	return fsys
}

// Formats names the directory formats that have a checked-in directory (see FormatDir).
var Formats = []string{"schemahook", "atlas", "golang-migrate", "goose", "flyway", "dbmate"}

// formatDirs maps a format to its directory, relative to the repository root. Each holds the
// same five-step schema; goose's and dbmate's are the examples themselves rather than copies.
var formatDirs = map[string]string{
	"schemahook":     "migrations/testdata/formats/schemahook",
	"atlas":          "migrations/testdata/formats/atlas",
	"golang-migrate": "migrations/testdata/formats/golang-migrate",
	"flyway":         "migrations/testdata/formats/flyway",
	"goose":          "examples/goose/migrations",
	"dbmate":         "examples/dbmate/migrations",
}

// FormatDir is the absolute path of the checked-in migration directory of format (one of
// Formats); tests must not write to it (copy it first).
func FormatDir(t testing.TB, format string) string {
	t.Helper()
	rel, ok := formatDirs[format]
	if !ok {
		t.Fatalf("testfs: no directory of format %q", format)
	}
	return filepath.Join(Root(), filepath.FromSlash(rel))
}

// Root is the repository's root directory: the nearest parent of the working directory (a
// test's package directory) whose go.mod is the main module's.
func Root() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/schemahook/schemahook\n") {
			return d
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}

// Git runs git in dir with a fixed identity and no user or system config, failing the test
// when it fails, and returns its output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return string(out)
}

// WantErr is the error check of a table case with a wantErr column: with want set, err must
// contain it and WantErr returns true (the case ends there); without, err must be nil.
func WantErr(t testing.TB, err error, want string) bool {
	t.Helper()
	if want == "" {
		require.NoError(t, err)
		return false
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), want)
	return true
}
