package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run verifies and applies dir on conn the way a run does, returning the applied versions.
func run(t *testing.T, conn *pgx.Conn, files map[string]string, o PlanOptions, ao ApplyOptions) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	dir := readDir(t, files)
	require.NoError(t, EnsureTable(ctx, conn, "schemahook"))
	hist, _, err := LoadHistory(ctx, conn, "schemahook")
	require.NoError(t, err)
	p, err := Verify(dir, hist, o)
	if err != nil {
		return nil, err
	}
	ao.Schema, ao.Record, ao.Resume = "schemahook", true, p.Resume
	res, err := Apply(ctx, conn, p.Mark, p.Pending, ao)
	var got []string
	for _, r := range res {
		got = append(got, r.File.Version)
	}
	return got, err
}

func TestApplyTransactionalFailureRollsBack(t *testing.T) {
	conn := connect(t, pgtest.URL(t))
	files := map[string]string{
		"001_a.sql": "CREATE TABLE a (id int);\n",
		"002_b.sql": "CREATE TABLE b (id int);\n\nINSERT INTO b VALUES (1);\nSELECT  nope FROM b;\n",
	}
	got, err := run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.Error(t, err)
	assert.Equal(t, []string{"001"}, got)
	var e *failure.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, failure.ExitApply, e.Exit)
	assert.Equal(t, "002_b.sql", e.File)
	assert.Equal(t, 4, e.Line, "line of the failing statement in the file")
	assert.Equal(t, 9, e.Col, "column of Postgres's error position in the file")
	assert.Equal(t, "42703", e.SQLState)
	assert.Contains(t, e.Msg, `column "nope" does not exist`)
	assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'b'"), "002 left a table behind")
	h := history(t, conn)
	assert.Contains(t, h, "001")
	assert.NotContains(t, h, "002")

	// Fixed file: the rerun applies it and only it.
	files["002_b.sql"] = "CREATE TABLE b (id int);\n"
	got, err = run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"002"}, got)
}

func TestApplyTxModeAll(t *testing.T) {
	conn := connect(t, pgtest.URL(t))
	files := map[string]string{
		"001_a.sql": "CREATE TABLE a (id int);\n",
		"002_b.sql": "CREATE TABLE b (id int);\nSELECT 1/0;\n",
	}
	_, err := run(t, conn, files, PlanOptions{}, ApplyOptions{TxMode: TxAll})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "whole run was rolled back")
	assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b')"))
	assert.Empty(t, history(t, conn))

	files["003_c.sql"] = "CREATE INDEX CONCURRENTLY ON a (id);\n"
	files["002_b.sql"] = "CREATE TABLE b (id int);\n"
	_, err = run(t, conn, files, PlanOptions{}, ApplyOptions{TxMode: TxAll})
	var e *failure.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, failure.ExitUsage, e.Exit)
	assert.Equal(t, "003_c.sql", e.File)
}

// A non-transactional file stops part-way: recorded exactly, blocks the next run, and
// resumes from the failed statement once a human fixed the cause.
func TestApplyPartialNonTransactional(t *testing.T) {
	conn := connect(t, pgtest.URL(t))
	ctx := context.Background()
	files := map[string]string{
		"001_t.sql": "CREATE TABLE t (id int, email text);\nINSERT INTO t VALUES (1, 'a'), (2, 'a');\n",
		"002_idx.sql": "CREATE INDEX CONCURRENTLY t_id ON t (id);\n" +
			"CREATE UNIQUE INDEX CONCURRENTLY t_email ON t (email);\n" +
			"CREATE INDEX CONCURRENTLY t_id_email ON t (id, email);\n",
	}
	got, err := run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.Error(t, err)
	assert.Equal(t, []string{"001"}, got)
	var e *failure.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, 2, e.Line)
	assert.Equal(t, "23505", e.SQLState)
	assert.Contains(t, e.Msg, "1 of 3 statements were applied")
	r := history(t, conn)["002"]
	assert.Equal(t, StatusPartial, r.Status)
	assert.Equal(t, 1, r.StatementsApplied)
	assert.Equal(t, 3, r.StatementsTotal)
	assert.Contains(t, r.LastError, "23505")

	_, err = run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "partial-migration", e.Rule)
	assert.Equal(t, failure.ExitHistory, e.Exit)

	// The human fixes the data and drops the invalid index CONCURRENTLY left behind.
	_, err = conn.Exec(ctx, "UPDATE t SET email = 'b' WHERE id = 2; DROP INDEX t_email")
	require.NoError(t, err)
	got, err = run(t, conn, files, PlanOptions{ResumePartial: "002"}, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"002"}, got)
	r = history(t, conn)["002"]
	assert.Equal(t, StatusApplied, r.Status)
	assert.Equal(t, 3, r.StatementsApplied)
	assert.Equal(t, 3, queryInt(t, conn, "SELECT count(*) FROM pg_indexes WHERE tablename = 't'"),
		"t_id ran once (not again on resume), t_email and t_id_email after")
}

func TestApplyRecordsRunMetadata(t *testing.T) {
	conn := connect(t, pgtest.URL(t))
	_, err := run(t, conn, map[string]string{"001_a.sql": "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"},
		PlanOptions{}, ApplyOptions{App: "orders", GitRevision: "abc123", LockTimeout: 1500 * time.Millisecond, StatementTimeout: time.Minute})
	require.NoError(t, err)
	r := history(t, conn)["001"]
	assert.Equal(t, "orders", r.App)
	assert.Equal(t, "abc123", r.GitRevision)
	assert.Equal(t, "a", r.Description)
	assert.Equal(t, 2, r.StatementsTotal)
	assert.Equal(t, 2, r.StatementsApplied)
	assert.False(t, r.AppliedAt.IsZero())
}

func TestTxControl(t *testing.T) {
	for sql, want := range map[string]bool{
		"BEGIN": true, "begin transaction": true, "COMMIT": true, "commit work": true, "END": true,
		"START TRANSACTION": true, "ROLLBACK": true,
		"ROLLBACK TO SAVEPOINT a": false, "BEGIN ISOLATION LEVEL SERIALIZABLE": false,
		"CREATE TABLE begin (id int)": false, "SAVEPOINT a": false, "": false,
	} {
		assert.Equal(t, want, migrations.PlainTxControl(sql), sql)
	}
}

// A golang-migrate file wrapped in its own BEGIN/COMMIT stays atomic with its revision row.
func TestApplyFileWithOwnTransaction(t *testing.T) {
	conn := connect(t, pgtest.URL(t))
	files := map[string]string{"000001_a.up.sql": "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n", "000002_b.up.sql": "BEGIN;\nCREATE TABLE b (id int);\nSELECT 1/0;\nCOMMIT;\n"}
	got, err := run(t, conn, files, PlanOptions{}, ApplyOptions{})
	require.Error(t, err)
	assert.Equal(t, []string{"000001"}, got)
	assert.Equal(t, 0, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'b'"), "the file's COMMIT must not commit part of it")
	assert.Equal(t, 1, queryInt(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'a'"))
}
