package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A transactional file goes to the server as one query string (batch.go); what a failure
// names is recovered from the answer, and must be what running the statements one by one
// named: the statement's line, Postgres's position as a column in the file.
func TestApplyBatchNamesFailingStatement(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		line, col           int
		state, msg, tail    string
	}{{
		name: "no position: counted completions", file: "001_a.sql",
		content: "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\nSELECT 1/0;\nCREATE TABLE b (id int);\n",
		line:    3, col: 1, state: "22012", msg: "division by zero", tail: "nothing of it was applied",
	}, {
		name: "goose block of several statements counted as each", file: "001_a.sql",
		content: "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n-- +goose StatementEnd\n" +
			"CREATE TABLE b (id int);\nSELECT 1/0;\n",
		line: 7, col: 1, state: "22012", msg: "division by zero",
	}, {
		name: "position after multi-byte characters", file: "001_a.sql",
		content: "CREATE TABLE a (id int);\nCOMMENT ON TABLE a IS 'héllo — wörld';\nSELECT  nope FROM a;\n",
		line:    3, col: 9, state: "42703", msg: `column "nope" does not exist`,
	}, {
		name: "error in the first statement after a line comment", file: "001_a.sql",
		content: "SELECT nope -- trailing comment\n;\nCREATE TABLE a (id int);\n",
		line:    1, col: 8, state: "42703",
	}, {
		name: "deferred constraint fails at commit", file: "001_a.sql",
		content: "CREATE TABLE p (id int PRIMARY KEY);\n" +
			"CREATE TABLE a (id int, p int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO a VALUES (1, 42);\n",
		state: "23503", tail: "the commit failed, the file is not applied",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			conn := connect(t, pgtest.URL(t))
			_, err := run(t, conn, map[string]string{tc.file: tc.content}, PlanOptions{}, ApplyOptions{})
			var e *failure.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, tc.file, e.File)
			assert.Equal(t, tc.line, e.Line, "line")
			if tc.line > 0 {
				assert.Equal(t, tc.col, e.Col, "column")
			}
			assert.Equal(t, tc.state, e.SQLState)
			assert.Contains(t, e.Msg, tc.msg)
			assert.Contains(t, e.Msg, tc.tail)
			assert.Empty(t, history(t, conn), "no revision row for a rolled-back file")
			assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b', 'p')"), "nothing of the file was applied")
			assert.Equal(t, byte('I'), conn.PgConn().TxStatus(), "the session is out of the failed transaction")
		})
	}
}

// The revision row a batch writes carries the run's metadata exactly, quotes and
// backslashes included, and the transaction's own duration.
func TestApplyBatchRevisionRow(t *testing.T) {
	conn := connect(t, pgtest.URL(t))
	files := map[string]string{"001_it's.sql": "CREATE TABLE a (id int) -- no semicolon, a comment last"}
	_, err := run(t, conn, files, PlanOptions{}, ApplyOptions{App: `o'rders\n`, GitRevision: `\x27; DROP TABLE a; --`})
	require.NoError(t, err)
	r := history(t, conn)["001"]
	assert.Equal(t, StatusApplied, r.Status)
	assert.Equal(t, "it's", r.Description)
	assert.Equal(t, `o'rders\n`, r.App)
	assert.Equal(t, `\x27; DROP TABLE a; --`, r.GitRevision)
	assert.Equal(t, 1, r.StatementsApplied)
	assert.GreaterOrEqual(t, r.ExecutionMs, int64(0))
	assert.Equal(t, 1, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'a'"))
}

// A dev replay sends several files in one round trip, each still its own transaction: a
// failure names its file and statement, the files before it stay committed, it and the
// rest are not applied.
func TestApplyGroupOfFiles(t *testing.T) {
	conn := connect(t, pgtest.URL(t))
	files := map[string]string{
		"001_a.sql": "CREATE TABLE a (id int);\n",
		"002_b.sql": "CREATE TABLE b (id int); -- a comment last\n",
		"003_c.sql": "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\n",
		"004_d.sql": "CREATE TABLE d (id int);\n\nINSERT INTO d SELECT 1/0;\n",
		"005_e.sql": "CREATE TABLE e (id int);\n",
	}
	dir := readDir(t, files)
	res, err := Apply(context.Background(), conn, nil, dir.Files, ApplyOptions{})
	var e *failure.Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, "004_d.sql", e.File)
	assert.Equal(t, 3, e.Line)
	assert.Equal(t, "22012", e.SQLState)
	var applied []string
	for _, r := range res {
		applied = append(applied, r.File.Name)
	}
	assert.Equal(t, []string{"001_a.sql", "002_b.sql", "003_c.sql"}, applied)
	assert.Equal(t, 3, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b', 'c')"))
	assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('d', 'e')"))
	assert.Equal(t, 1, len(newBatch(dir.Files[:1], func(*migrations.File) string { return "" }).parts)-2, "one statement between BEGIN and COMMIT")

	// The same files with the failure fixed run through, in as many round trips as groups.
	files["004_d.sql"] = "CREATE TABLE d (id int);\n"
	_, err = conn.Exec(context.Background(), "DROP TABLE a, b, c")
	require.NoError(t, err)
	res, err = Apply(context.Background(), conn, nil, readDir(t, files).Files, ApplyOptions{})
	require.NoError(t, err)
	assert.Len(t, res, 5)
	assert.Equal(t, 5, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b', 'c', 'd', 'e')"))
}

// The revision row goes through a statement prepared once per run; a file that
// deallocates it is run again and recorded without it, as is every file after it.
func TestApplyRevisionWithoutPreparedStatement(t *testing.T) {
	url := pgtest.URL(t)
	conn, check := connect(t, url), connect(t, url)
	files := map[string]string{
		"001_a.sql": "CREATE TABLE a (id int);\n",
		"002_b.sql": "CREATE TABLE b (id int);\nDEALLOCATE ALL;\n",
		"003_c.sql": "CREATE TABLE c (id int);\n",
	}
	got, err := run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"001", "002", "003"}, got)
	h := history(t, check)
	for _, v := range []string{"001", "002", "003"} {
		assert.Equal(t, StatusApplied, h[v].Status, v)
	}
	assert.Equal(t, 3, queryInt(t, check, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b', 'c')"), "each file ran once")
}

// A second run on the same session finds the statement prepared and prepares it again
// (for its own revisions schema).
func TestApplyPreparesRevisionAgain(t *testing.T) {
	conn := connect(t, pgtest.URL(t))
	files := map[string]string{"001_a.sql": "CREATE TABLE a (id int);\n"}
	_, err := run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.NoError(t, err)
	files["002_b.sql"] = "CREATE TABLE b (id int);\n"
	got, err := run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"002"}, got)
	assert.Equal(t, StatusApplied, history(t, conn)["002"].Status)
	assert.Equal(t, 1, queryInt(t, conn, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'schemahook_revision'"))
}
