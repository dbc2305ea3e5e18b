package lint

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRewritePredictions checks the rewrite rules against a real Postgres: for each change,
// SH306/SH307/SH313 must fire exactly when Postgres gives the table a new relfilenode.
func TestRewritePredictions(t *testing.T) {
	const table = `CREATE TABLE r (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  v varchar(100), t text, n numeric(10,2), i integer, c cidr
);`
	cases := []struct {
		code, sql string
	}{
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN v TYPE varchar(200);"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN v TYPE varchar(50);"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN v TYPE text;"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN v TYPE varchar;"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN t TYPE varchar(10);"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN t TYPE varchar;"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN n TYPE numeric(12,2);"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN n TYPE numeric(12,3);"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN n TYPE numeric;"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN n TYPE numeric(8,2);"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN i TYPE bigint;"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN i TYPE text;"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN c TYPE inet;"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x integer DEFAULT 0;"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x timestamptz DEFAULT now();"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x float8 DEFAULT random();"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x uuid DEFAULT gen_random_uuid();"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x timestamptz DEFAULT clock_timestamp();"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x bigserial;"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x bigint GENERATED ALWAYS AS IDENTITY;"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x bigint GENERATED ALWAYS AS (id * 2) STORED;"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x text;"},
		{codeTableRewrite, "ALTER TABLE r SET UNLOGGED;"},
		// SET ACCESS METHOD is reported without knowing the table's method (heap is the only
		// built-in one, so it cannot be shown to rewrite here); to the same method it is a no-op.
		{codeTableRewrite, "ALTER TABLE r SET (fillfactor = 70);"},
	}
	ctx := context.Background()
	conn := connect(t)
	for i, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			inNewSchema(t, conn, fmt.Sprintf("s%d", i), table+" INSERT INTO r (v, t, n, i, c) VALUES ('a', 'b', 1.5, 2, '10.0.0.0/8');")
			before := filenode(t, conn)
			_, err := conn.Exec(ctx, tc.sql)
			require.NoError(t, err)
			rewritten := filenode(t, conn) != before

			predicted := hasCode(lintSQL(t, Options{LockTimeout: true}, table, tc.sql), tc.code)
			assert.Equal(t, rewritten, predicted, "Postgres rewrote: %v, lint %s fired: %v", rewritten, tc.code, predicted)
		})
	}
}

func filenode(t *testing.T, conn *pgx.Conn) uint32 {
	var n uint32
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT relfilenode FROM pg_class WHERE oid = 'r'::regclass").Scan(&n))
	return n
}

// connect opens a connection to the test server, closed when the test ends.
func connect(t *testing.T) *pgx.Conn {
	conn, err := pgx.Connect(context.Background(), pgtest.URL(t))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// inNewSchema creates schema name, makes it the connection's search_path and runs sql in it.
func inNewSchema(t *testing.T, conn *pgx.Conn, name, sql string) {
	_, err := conn.Exec(context.Background(), fmt.Sprintf("CREATE SCHEMA %[1]s; SET search_path = %[1]s; %[2]s", name, sql))
	require.NoError(t, err)
}
