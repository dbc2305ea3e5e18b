package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgbouncer"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logged migrations each insert their version into a log table, so "applied exactly once"
// is counted by the database itself.
func logged(n int) map[string]string {
	files := map[string]string{"001_log.sql": "CREATE TABLE run_log (version text NOT NULL);\nINSERT INTO run_log VALUES ('001');\n"}
	for i := 2; i <= n; i++ {
		files[fmt.Sprintf("%03d_t%d.sql", i, i)] = fmt.Sprintf("CREATE TABLE t%d (id int);\nINSERT INTO run_log VALUES ('%03d');\n", i, i)
	}
	return files
}

// race starts n runs of migrate apply at once and returns their results. It is safe to
// call from the test goroutine only (no require inside the runners).
func race(t *testing.T, n int, o Options) []result {
	t.Helper()
	out := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stdout, stderr bytes.Buffer
			o := o
			o.Stdout, o.Stderr, o.Output, o.Lint, o.App = &stdout, &stderr, "json", "warn", fmt.Sprintf("runner-%d", i)
			err := Run(context.Background(), ModeApply, o)
			res := result{stderr: stderr.String()}
			if errors.As(err, &res.err) {
				res.code = res.err.Exit
			}
			if jerr := json.Unmarshal(stdout.Bytes(), &res.report); jerr != nil {
				res.stderr += "\nbad JSON report: " + jerr.Error()
			}
			out[i] = res
		}()
	}
	wg.Wait()
	return out
}

// TestPgBouncer: behind PgBouncer in transaction pooling, the session advisory lock cannot
// hold, so every run refuses at connect (exit 6), saying where to point DATABASE_URL, and
// the target stays untouched, also with eight runners at once. Behind session pooling a
// run applies, the next is up-to-date, and eight racing runners apply each file exactly
// once; the dev replay's pg_dump goes through the pooler too.
func TestPgBouncer(t *testing.T) {
	target := pgtest.URL(t)
	b := pgbouncer.Start(t, target)
	dir := writeDir(t, logged(5))
	untouched := func() {
		t.Helper()
		assert.Zero(t, queryInt(t, target, "SELECT count(*) FROM pg_namespace WHERE nspname = 'schemahook'"), "no revisions schema")
		assert.Zero(t, queryInt(t, target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "no tables")
	}

	t.Run("transaction pooling is refused", func(t *testing.T) {
		r := apply(t, Options{Dir: dir, URL: b.TransactionURL})
		require.Equal(t, failure.ExitConnect, r.code, "%v\n%s", r.err, r.stderr)
		assert.Equal(t, failure.StageVerify, r.err.Stage)
		assert.Equal(t, "pooler", r.err.Rule)
		assert.Contains(t, r.err.Msg, "point DATABASE_URL at the Postgres server directly, or at a pooler database or port with pool_mode = session")
		untouched()
	})
	t.Run("eight runners behind transaction pooling all refuse", func(t *testing.T) {
		for i, r := range race(t, 8, Options{Dir: dir, URL: b.TransactionURL, DevURL: pgtest.AdminURL(t), LockTimeout: 5 * time.Minute}) {
			require.Equal(t, failure.ExitConnect, r.code, "runner %d: %v\n%s", i, r.err, r.stderr)
			assert.Equal(t, "pooler", r.err.Rule, "runner %d", i)
		}
		untouched()
	})
	t.Run("session pooling applies, then is up-to-date", func(t *testing.T) {
		// An object made by hand gives the copy replay a schema to restore (an empty target's
		// copy would repeat the fresh replay, and is skipped).
		execSQL(t, target, "CREATE TABLE made_by_hand (id int)")
		r := apply(t, Options{Dir: dir, URL: b.SessionURL})
		require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
		assert.Equal(t, "applied", r.report.Status)
		assert.Len(t, r.report.Applied, 5)
		assert.Contains(t, r.stderr, "applied the 5 pending files to a schema-only copy of the target")
		assert.Equal(t, "up-to-date", apply(t, Options{Dir: dir, URL: b.SessionURL}).report.Status)
		assert.Equal(t, 5, queryInt(t, target, "SELECT count(*) FROM run_log"))
	})
}

// TestPgBouncerSessionRace: eight runners started at once through PgBouncer's session
// pooling apply every file exactly once, and all exit 0.
func TestPgBouncerSessionRace(t *testing.T) {
	target := pgtest.URL(t)
	b := pgbouncer.Start(t, target)
	dir := writeDir(t, logged(6))
	applied := 0
	for i, r := range race(t, 8, Options{Dir: dir, URL: b.SessionURL, DevURL: pgtest.AdminURL(t), LockTimeout: 5 * time.Minute}) {
		require.Zero(t, r.code, "runner %d: %v\n%s", i, r.err, r.stderr)
		assert.Contains(t, []string{"applied", "up-to-date"}, r.report.Status)
		applied += len(r.report.Applied)
	}
	assert.Equal(t, 6, applied, "files applied over all runners")
	assert.Equal(t, 6, queryInt(t, target, "SELECT count(*) FROM run_log"))
	assert.Equal(t, 6, queryInt(t, target, "SELECT count(DISTINCT version) FROM run_log"))
	assert.Equal(t, 6, queryInt(t, target, "SELECT count(*) FROM schemahook.revisions WHERE status = 'applied'"))
}
