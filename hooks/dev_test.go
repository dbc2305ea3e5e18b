package hooks

import (
	"testing"

	"github.com/schemahook/schemahook/failure"
	"github.com/stretchr/testify/assert"
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
