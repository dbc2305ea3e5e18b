package migrations

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/schemahook/schemahook/failure"
	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		stmts []Statement
	}{
		{"two statements", "SELECT 1;\nSELECT 2;\n", []Statement{
			{SQL: "SELECT 1", Offset: 0, Line: 1, Col: 1},
			{SQL: "SELECT 2", Offset: 10, Line: 2, Col: 1}}},
		{"dollar quote with semicolons stays whole", "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\nBEGIN\n  PERFORM 1; RETURN 2;\nEND;\n$fn$;\n  SELECT 3",
			[]Statement{
				{SQL: "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\nBEGIN\n  PERFORM 1; RETURN 2;\nEND;\n$fn$", Offset: 0, Line: 1, Col: 1},
				{SQL: "SELECT 3", Offset: 99, Line: 6, Col: 3}}},
		{"semicolons in strings, identifiers and comments", "SELECT ';' AS \"a;b\"; /* x; y */ SELECT 2 -- z;\n;",
			[]Statement{
				{SQL: "SELECT ';' AS \"a;b\"", Offset: 0, Line: 1, Col: 1},
				{SQL: "/* x; y */ SELECT 2 -- z;", Offset: 21, Line: 1, Col: 22}}},
		{"leading comment belongs to its statement", "-- first\nSELECT 1;",
			[]Statement{{SQL: "-- first\nSELECT 1", Offset: 0, Line: 1, Col: 1}}},
		{"columns count characters, not bytes", "SELECT 'é'; SELECT 2;",
			[]Statement{{SQL: "SELECT 'é'", Offset: 0, Line: 1, Col: 1}, {SQL: "SELECT 2", Offset: 13, Line: 1, Col: 13}}},
		{"empty statements skipped", ";;SELECT 1;;\n;", []Statement{{SQL: "SELECT 1", Offset: 2, Line: 1, Col: 3}}},
		{"only comments", "-- nothing\n/* at all */\n", nil},
		{"empty", "", nil},
		{"noTx marked", "CREATE INDEX CONCURRENTLY i ON t (a); CREATE INDEX j ON t (b);",
			[]Statement{{SQL: "CREATE INDEX CONCURRENTLY i ON t (a)", Offset: 0, Line: 1, Col: 1, NoTx: true},
				{SQL: "CREATE INDEX j ON t (b)", Offset: 38, Line: 1, Col: 39}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.sql)
			require.NoError(t, err)
			require.Equal(t, tt.stmts, got)
			// Byte-exact: the same text SplitWithParser gives, found where Offset says.
			want, err := pg_query.SplitWithParser(tt.sql, true)
			require.NoError(t, err)
			var texts []string
			for _, s := range got {
				texts = append(texts, s.SQL)
				require.Equal(t, s.SQL, tt.sql[s.Offset:s.Offset+len(s.SQL)])
			}
			require.Equal(t, want, texts)
		})
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		sql  string
		want string
	}{
		{"SELECT 1;\nSELEC 2;", `line 2:1: syntax error at or near "SELEC" [syntax]`},
		{"SELECT 'é' FROM;", `line 1:16: syntax error at or near ";" [syntax]`},
		{"CREATE TABLE t (a int", `line 1:22: syntax error at end of input [syntax]`},
		{"SELECT $$abc", `line 1:8: unterminated dollar-quoted string at or near "$$abc" [syntax]`},
		{"SELECT '\xff';", `line 1:9: invalid UTF-8 (migration files must be UTF-8) [encoding]`},
		{"SELECT 1;\x00", `line 1:10: NUL byte in SQL text [encoding]`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Split(tt.sql)
			require.EqualError(t, err, tt.want)
			var e *failure.Error
			require.ErrorAs(t, err, &e)
		})
	}
}

func TestNoTx(t *testing.T) {
	tests := []struct {
		sql  string
		noTx bool
	}{
		{"CREATE INDEX CONCURRENTLY i ON t (a)", true},
		{"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", true},
		{"CREATE INDEX i ON t (a)", false},
		{"DROP INDEX CONCURRENTLY i", true},
		{"DROP INDEX i", false},
		{"REINDEX INDEX CONCURRENTLY i", true},
		{"REINDEX (CONCURRENTLY) TABLE t", true},
		{"REINDEX (CONCURRENTLY false) TABLE t", false},
		{"REINDEX TABLE t", false},
		{"REINDEX SCHEMA s", true},
		{"REINDEX DATABASE d", true},
		{"VACUUM", true},
		{"VACUUM (ANALYZE) t", true},
		{"ANALYZE t", false},
		{"CREATE DATABASE d", true},
		{"DROP DATABASE d", true},
		{"ALTER DATABASE d SET TABLESPACE x", true},
		{"ALTER DATABASE d SET work_mem = '1MB'", false},
		{"CREATE TABLESPACE x LOCATION '/x'", true},
		{"DROP TABLESPACE x", true},
		{"ALTER SYSTEM SET work_mem = '1MB'", true},
		{"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", true},
		{"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (create_slot = false)", false},
		{"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (connect = false)", false},
		{"ALTER SUBSCRIPTION s REFRESH PUBLICATION", true},
		{"ALTER SUBSCRIPTION s SET PUBLICATION p", true},
		{"ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)", false},
		{"ALTER SUBSCRIPTION s DISABLE", false},
		{"DROP SUBSCRIPTION s", true},
		{"ALTER TABLE p DETACH PARTITION c CONCURRENTLY", true},
		{"ALTER TABLE p DETACH PARTITION c", false},
		{"ALTER TYPE mood ADD VALUE 'meh'", false},
		{"CLUSTER", true},
		{"CLUSTER t USING i", false},
		{"DISCARD ALL", true},
		{"DISCARD PLANS", false},
		{"COMMIT PREPARED 'x'", true},
		{"CREATE TABLE t (a int)", false},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			got, err := Split(tt.sql)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, tt.noTx, got[0].NoTx)
		})
	}
}

func TestPos(t *testing.T) {
	f := &File{Content: "ab\ncé\n\nx"}
	tests := []struct{ offset, line, col int }{
		{0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {4, 2, 2}, {6, 2, 3}, {7, 3, 1}, {8, 4, 1}, {9, 4, 2}, {100, 4, 2}, {-1, 1, 1},
	}
	for _, tt := range tests {
		line, col := f.Pos(tt.offset)
		require.Equal(t, []int{tt.line, tt.col}, []int{line, col}, "offset %d", tt.offset)
	}
}

// TestTxControlAgree: the runner's text check never skips a statement lint does not name,
// and lint names the forms the runner leaves to Postgres (options, PREPARED) too.
func TestTxControlAgree(t *testing.T) {
	plain := map[string]string{ // SQL: what lint names it
		"BEGIN": "BEGIN", "begin transaction": "BEGIN", "START TRANSACTION": "START TRANSACTION",
		"COMMIT WORK": "COMMIT", "END": "COMMIT", "ABORT": "ROLLBACK", "ROLLBACK": "ROLLBACK",
	}
	notPlain := map[string]string{
		"BEGIN ISOLATION LEVEL SERIALIZABLE": "BEGIN", "COMMIT PREPARED 'x'": "COMMIT PREPARED",
		"PREPARE TRANSACTION 'x'": "PREPARE TRANSACTION", "ROLLBACK TO SAVEPOINT a": "",
		"SAVEPOINT a": "", "CREATE TABLE begin (id int)": "",
	}
	for isPlain, cases := range map[bool]map[string]string{true: plain, false: notPlain} {
		for sql, name := range cases {
			require.Equal(t, isPlain, PlainTxControl(sql), sql)
			tree, err := pg_query.Parse(sql)
			require.NoError(t, err)
			require.Len(t, tree.Stmts, 1)
			require.Equal(t, name, TxControl(tree.Stmts[0].Stmt), sql)
		}
	}
}
