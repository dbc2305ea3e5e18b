package hooks

import (
	"testing"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDropUnknownSettings(t *testing.T) {
	known := map[string]bool{"statement_timeout": true, "client_encoding": true, "check_function_bodies": true}
	for _, tc := range []struct{ name, in, want string }{
		{"pg_dump 18 of a 16 server",
			"--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET statement_timeout = 0;\nSET transaction_timeout = 0;\nSET client_encoding = 'UTF8';\nSELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n\nCREATE TABLE t (id int);\n",
			"--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\nSELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n\nCREATE TABLE t (id int);\n"},
		{"only the header: a function body keeps its lines",
			"SET transaction_timeout = 0;\nCREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\nSET transaction_timeout = 0;\nEND $$;\nSET transaction_timeout = 0;\n",
			"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\nSET transaction_timeout = 0;\nEND $$;\nSET transaction_timeout = 0;\n"},
		{"no trailing newline", "SET statement_timeout = 0;", "SET statement_timeout = 0;"},
		{"empty", "", ""},
	} {
		assert.Equal(t, tc.want, string(dropUnknownSettings([]byte(tc.in), known)), tc.name)
	}
}

// TestMissingExtension: both ways Postgres says an extension's files are missing get the
// extension's name and the fix; other failures are left alone.
func TestMissingExtension(t *testing.T) {
	for _, tc := range []struct{ name, msg, ext, control string }{
		{"15 and newer", `ERROR: extension "postgis" is not available (SQLSTATE 0A000); detail: Could not open extension control file "/usr/lib/postgresql/16/share/postgresql/extension/postgis.control": No such file or directory.`,
			"postgis", "/usr/lib/postgresql/16/share/postgresql/extension/postgis.control"},
		{"14", `ERROR: could not open extension control file "/x/share/postgresql/extension/vector.control": No such file or directory (SQLSTATE 58P01)`,
			"vector", "/x/share/postgresql/extension/vector.control"},
		{"psql restoring the copy", `psql:<stdin>:20: ERROR:  extension "pg_partman" is not available`, "pg_partman", ""},
		{"other failure", `ERROR: relation "x" does not exist (SQLSTATE 42P01)`, "", ""},
	} {
		e := &failure.Error{Msg: tc.msg, Rule: "statement-failed"}
		missingExtension(e)
		if tc.ext == "" {
			assert.Equal(t, tc.msg, e.Msg, tc.name)
			assert.Equal(t, "statement-failed", e.Rule, tc.name)
			continue
		}
		assert.Equal(t, "dev-extension-missing", e.Rule, tc.name)
		assert.Contains(t, e.Msg, tc.msg, tc.name)
		assert.Contains(t, e.Msg, `The dev server has no extension "`+tc.ext+`" installed`, tc.name)
		assert.Contains(t, e.Msg, "point dev.url (--dev-url) at a dev server", tc.name)
		assert.Contains(t, e.Msg, "FROM the schemahook image", tc.name)
		if tc.control != "" {
			assert.Contains(t, e.Msg, "(no "+tc.control+")", tc.name)
		}
	}
}

// TestCopyReplayOnlyWhereItAddsSomething: on a target without history and without objects,
// the copy replay would repeat the fresh one and is skipped (so is the drift replay of no
// files); a target with objects made by hand, or with history, still gets both. The table
// made by hand conflicts with a pending file: only the copy replay can catch that.
func TestCopyReplayOnlyWhereItAddsSomething(t *testing.T) {
	const skipped = "copy replay skipped"
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, url string)
		files   map[string]string
		skipped bool
		code    failure.ExitCode
	}{
		{name: "empty target", files: base, skipped: true},
		{name: "objects made by hand, no history", setup: func(t *testing.T, url string) {
			execSQL(t, url, "CREATE TABLE orders (id int)")
		}, files: base, code: failure.ExitDev},
		{name: "an empty schema made by hand", setup: func(t *testing.T, url string) {
			execSQL(t, url, "CREATE SCHEMA reporting")
		}, files: base},
		{name: "history", setup: func(t *testing.T, url string) {
			require.Zero(t, apply(t, Options{Dir: writeDir(t, with(base, "003_total.sql", "")), URL: url}).code)
		}, files: base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.URL(t)
			if tc.setup != nil {
				tc.setup(t, url)
			}
			r := apply(t, Options{Dir: writeDir(t, tc.files), URL: url})
			require.Equal(t, tc.code, r.code, "%v\n%s", r.err, r.stderr)
			if tc.skipped {
				assert.Contains(t, r.stderr, skipped)
				assert.NotContains(t, r.stderr, "schema-only copy of the target")
				assert.Contains(t, r.stderr, "drift check before apply: the target's schema is empty")
				return
			}
			assert.NotContains(t, r.stderr, skipped)
			assert.NotContains(t, r.stderr, "the target's schema is empty")
			if tc.code == 0 {
				assert.Contains(t, r.stderr, "to a schema-only copy of the target")
			} else {
				assert.Contains(t, r.report.Error.Msg, "copy of the target's schema")
			}
		})
	}
}

func TestEmptyDump(t *testing.T) {
	header := "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\nSET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\\unrestrict abc\n"
	assert.True(t, emptyDump([]byte(header)))
	assert.True(t, emptyDump(nil))
	assert.False(t, emptyDump([]byte(header+"CREATE SCHEMA reporting;\n")))
	assert.False(t, emptyDump([]byte(header+"COMMENT ON SCHEMA public IS 'x';\r\n")))
}
