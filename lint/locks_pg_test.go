package lint

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLockClaims checks what the locking rules say against a real Postgres: each statement
// runs in a transaction on tables with rows, and the lock the rule's message names must be
// held on the table it names (or the statement must fail on the rows, which proves the scan).
func TestLockClaims(t *testing.T) {
	const setup = `CREATE TABLE p (id bigint PRIMARY KEY);
CREATE DOMAIN d AS text;
CREATE TABLE r (id bigint, v d, n int);
CREATE TABLE e (at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE e1 PARTITION OF e FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
INSERT INTO p VALUES (1); INSERT INTO r VALUES (1, 'a', 1); INSERT INTO e VALUES ('2020-06-01');
ALTER DOMAIN d ADD CONSTRAINT d_nv CHECK (VALUE <> '') NOT VALID;`
	cases := []struct {
		code, sql string
		table     string // the table the lock must be held on
		mode      string // pg_locks.mode; "" when the statement must fail on the existing rows
	}{
		{codeInlineCheck, "ALTER TABLE r ADD COLUMN x bigint REFERENCES p (id);", "p", "ShareRowExclusiveLock"},
		{codeInlineCheck, "ALTER TABLE r ADD COLUMN x bigint CHECK (x IS NOT NULL);", "r", ""},
		{codeValidateSameTx, "ALTER TABLE r ADD CONSTRAINT r_n CHECK (n > 0) NOT VALID;\nALTER TABLE r VALIDATE CONSTRAINT r_n;", "r", "AccessExclusiveLock"},
		{codeTableRewrite, "ALTER TABLE r SET UNLOGGED;", "r", "AccessExclusiveLock"},
		{codeDetachLock, "ALTER TABLE e DETACH PARTITION e1;", "e", "AccessExclusiveLock"},
		{codeDomainCheck, "ALTER DOMAIN d ADD CONSTRAINT d_c CHECK (VALUE <> 'x');", "r", "ShareLock"},
		{codeDomainCheck, "ALTER DOMAIN d ADD CONSTRAINT d_c CHECK (VALUE = 'x');", "r", ""},
		{codeDomainCheck, "ALTER DOMAIN d VALIDATE CONSTRAINT d_nv;", "r", "ShareLock"},
		{codeDomainCheck, "ALTER DOMAIN d SET NOT NULL;", "r", "ShareLock"},
		{codeLockTimeout, "LOCK TABLE r;", "r", "AccessExclusiveLock"},
	}
	ctx := context.Background()
	conn := connect(t)
	for i, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			inNewSchema(t, conn, fmt.Sprintf("l%d", i), setup)
			assert.True(t, hasCode(lintSQL(t, Options{}, setup, tc.sql), tc.code), "lint does not report %s", tc.code)

			_, err := conn.Exec(ctx, "BEGIN")
			require.NoError(t, err)
			defer conn.Exec(ctx, "ROLLBACK")
			_, err = conn.Exec(ctx, tc.sql)
			if tc.mode == "" {
				require.Error(t, err, "the statement must check the existing rows")
				return
			}
			require.NoError(t, err)
			var held bool
			require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks
WHERE pid = pg_backend_pid() AND granted AND relation = $1::regclass AND mode = $2)`, tc.table, tc.mode).Scan(&held))
			assert.True(t, held, "%s is not held on %s", tc.mode, tc.table)
		})
	}
}
