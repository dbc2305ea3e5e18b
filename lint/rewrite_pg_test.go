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
// SH306/SH307 must fire exactly when Postgres gives the table a new relfilenode.
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
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	for i, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			schema := fmt.Sprintf("s%d", i)
			_, err := conn.Exec(ctx, fmt.Sprintf("CREATE SCHEMA %[1]s; SET search_path = %[1]s; %[2]s INSERT INTO r (v, t, n, i, c) VALUES ('a', 'b', 1.5, 2, '10.0.0.0/8');", schema, table))
			require.NoError(t, err)
			before := filenode(t, conn)
			_, err = conn.Exec(ctx, tc.sql)
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
