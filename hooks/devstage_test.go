package hooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDevAndLintReportInOrder: the replays, the drift check and the lint run at once, and
// the run reports as if they ran one after another: a dev failure before a drift failure
// before a lint failure, without a line or a finding of the lint after a failure before it,
// and the target untouched.
func TestDevAndLintReportInOrder(t *testing.T) {
	const (
		broken  = "ALTER TABLE orders ADD COLUMN total numeric;\nALTER TABLE orderz ADD COLUMN x int;\n"
		blocked = "DROP SCHEMA IF EXISTS archive;\n" // SH103 under policy error; the replays pass
	)
	applied := func(t *testing.T, url string, sql ...string) {
		require.Zero(t, apply(t, Options{Dir: writeDir(t, base), URL: url}).code)
		for _, s := range sql {
			execSQL(t, url, s)
		}
	}
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, url string)
		files  map[string]string
		dev    string // "" is the tests' external dev server
		code   failure.ExitCode
		stage  string
		file   string
		inMsg  string
		linted bool
	}{
		{name: "empty target: the lint blocks", files: with(base, "004_archive.sql", blocked),
			code: failure.ExitLint, stage: failure.StageLint, file: "004_archive.sql", linted: true},
		{name: "empty target: the fresh replay fails while the lint blocks", files: with(base, "003_total.sql", broken, "004_archive.sql", blocked),
			code: failure.ExitDev, stage: failure.StageDev, file: "003_total.sql"},
		{name: "empty target, ephemeral server: the fresh replay fails while the lint blocks", files: with(base, "003_total.sql", broken, "004_archive.sql", blocked),
			dev: "ephemeral", code: failure.ExitDev, stage: failure.StageDev, file: "003_total.sql"},
		{name: "history: the lint blocks", setup: func(t *testing.T, url string) { applied(t, url) },
			files: with(base, "004_archive.sql", blocked), code: failure.ExitLint, stage: failure.StageLint, file: "004_archive.sql", linted: true},
		{name: "history: the copy replay fails while the drift check and the lint fail",
			setup: func(t *testing.T, url string) { applied(t, url, "CREATE TABLE notes (id int)") },
			files: with(base, "004_notes.sql", "CREATE TABLE notes (id int);\n", "005_archive.sql", blocked),
			code:  failure.ExitDev, stage: failure.StageDev, file: "004_notes.sql", inMsg: "copy of the target's schema"},
		{name: "history: the drift check fails while the lint blocks",
			setup: func(t *testing.T, url string) { applied(t, url, "ALTER TABLE orders ADD COLUMN note text") },
			files: with(base, "004_archive.sql", blocked), code: failure.ExitDrift, stage: failure.StageDrift, inMsg: "column public.orders.note added"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.URL(t)
			if tc.setup != nil {
				tc.setup(t, url)
			}
			before := catalog(t, url)
			dir := writeDir(t, tc.files)
			r := apply(t, Options{Dir: dir, URL: url, DevURL: tc.dev, Lint: "error", Drift: "error"})
			require.Equal(t, tc.code, r.code, "%v\n%s", r.err, r.stderr)
			assert.Equal(t, tc.stage, r.err.Stage)
			if tc.file != "" {
				assert.Equal(t, filepath.Join(dir, tc.file), r.err.File)
			}
			assert.Contains(t, r.err.Msg, tc.inMsg)
			assert.Equal(t, before, catalog(t, url), "the target changed")
			if tc.linted {
				assert.Equal(t, "SH103", r.err.Rule)
				assert.Contains(t, r.stderr, "dev replay passed in ")
				assert.Contains(t, r.stderr, "schemahook: lint ")
				assert.NotEmpty(t, r.report.Findings)
				return
			}
			assert.NotContains(t, r.stderr, "dev replay passed")
			assert.NotContains(t, r.stderr, "schemahook: lint", "a lint line after a failed dev stage")
			assert.Empty(t, r.report.Findings)
		})
	}
}

// TestDevServerOnlyWhenSomethingIsPending: the ephemeral server starts while verify runs,
// but never on the nothing-to-do path, and a failure of its preparation does not hide a
// failure of verify. Wrappers of postgres and initdb record every time they run.
func TestDevServerOnlyWhenSomethingIsPending(t *testing.T) {
	pg, err := devdb.FindServer(0)
	require.NoError(t, err)
	// World-readable: initdb and postgres run as an unprivileged user when the tests run as root.
	top, err := os.MkdirTemp("", "schemahook-wrap-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(top) })
	bin, calls := filepath.Join(top, "bin"), filepath.Join(top, "calls")
	require.NoError(t, os.Chmod(top, 0o755))
	require.NoError(t, os.Mkdir(bin, 0o755))
	require.NoError(t, os.WriteFile(calls, nil, 0o666))
	require.NoError(t, os.Chmod(calls, 0o666))
	for _, prog := range []string{"postgres", "initdb"} {
		script := "#!/bin/sh\necho \"" + prog + " $*\" >>" + calls + "\nexec " + filepath.Join(pg.Dir, prog) + " \"$@\"\n"
		require.NoError(t, os.WriteFile(filepath.Join(bin, prog), []byte(script), 0o755))
	}
	ran := func() string {
		b, err := os.ReadFile(calls)
		require.NoError(t, err)
		return string(b)
	}

	url := pgtest.URL(t)
	require.Zero(t, apply(t, Options{Dir: writeDir(t, base), URL: url}).code)

	t.Setenv(devdb.EnvBin, bin)
	r := apply(t, Options{Dir: writeDir(t, base), URL: url, DevURL: "ephemeral"})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Equal(t, "up-to-date", r.report.Status)
	assert.Empty(t, ran(), "the nothing-to-do run ran a Postgres program")

	edited := with(base, "002_orders.sql", base["002_orders.sql"]+"-- edited\n")
	t.Run("verify's failure is reported, not the dev server's", func(t *testing.T) {
		t.Setenv(devdb.EnvBin, t.TempDir()) // no server binaries: the preparation fails
		r := apply(t, Options{Dir: writeDir(t, edited), URL: url, DevURL: "ephemeral"})
		require.Equal(t, failure.ExitHistory, r.code, "%v\n%s", r.err, r.stderr)
		assert.Equal(t, "checksum-mismatch", r.err.Rule)
	})

	r = apply(t, Options{Dir: writeDir(t, with(base, "004_note.sql", "ALTER TABLE orders ADD COLUMN note text;\n")), URL: url, DevURL: "ephemeral"})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Equal(t, "applied", r.report.Status)
	assert.True(t, strings.Contains(ran(), "initdb "), "a run with a pending file starts the server through the wrappers: %q", ran())
}
