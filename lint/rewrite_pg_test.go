package lint

import (
	"context"
	"fmt"
	"slices"
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
);
CREATE FUNCTION vf() RETURNS int LANGUAGE plpgsql VOLATILE AS 'BEGIN RETURN 1; END';
CREATE FUNCTION sf() RETURNS int LANGUAGE plpgsql STABLE AS 'BEGIN RETURN 1; END';`
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
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x int DEFAULT vf();"},
		{codeVolatileDef, "ALTER TABLE r ADD COLUMN x int DEFAULT sf() + 1;"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN i TYPE int4;"},
		{codeTypeRewrite, "ALTER TABLE r ALTER COLUMN i TYPE integer;"},
		{codeTableRewrite, "ALTER TABLE r SET UNLOGGED;"},
		// SET ACCESS METHOD is reported without knowing the table's method (heap is the only
		// built-in one, so it cannot be shown to rewrite here); to the same method it is a no-op.
		{codeTableRewrite, "ALTER TABLE r SET (fillfactor = 70);"},
	}
	ctx := context.Background()
	conn := connect(t)
	for i, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			schema := fmt.Sprintf("s%d", i)
			inNewSchema(t, conn, schema, table+" INSERT INTO r (v, t, n, i, c) VALUES ('a', 'b', 1.5, 2, '10.0.0.0/8');")
			before := filenode(t, conn)
			cat := catalogOf(t, conn, schema, tc.sql)
			_, err := conn.Exec(ctx, tc.sql)
			require.NoError(t, err)
			rewritten := filenode(t, conn) != before

			predicted := hasCode(lintSQL(t, Options{LockTimeout: true}, table, tc.sql), tc.code)
			assert.Equal(t, rewritten, predicted, "Postgres rewrote: %v, lint %s fired: %v", rewritten, tc.code, predicted)
			// The same from the catalog alone: no earlier file tells the types or functions.
			res := lintSQL(t, Options{LockTimeout: true, Catalog: cat}, tc.sql)
			predicted = slices.ContainsFunc(res.Findings, func(f Finding) bool { return f.Code == tc.code && f.Severity == SeverityError })
			assert.Equal(t, rewritten, predicted, "from the catalog: Postgres rewrote: %v, lint %s fired: %v", rewritten, tc.code, res.Findings)
		})
	}
}

func filenode(t *testing.T, conn *pgx.Conn) uint32 {
	var n uint32
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT relfilenode FROM pg_class WHERE oid = 'r'::regclass").Scan(&n))
	return n
}

// catalogOf reads a catalog snapshot of schema as the hook does (column types, function
// volatility, the search path), for the names sql mentions.
func catalogOf(t *testing.T, conn *pgx.Conn, schema, sql string) *Catalog {
	t.Helper()
	ctx := context.Background()
	_, funcs := Mentions(readDir(t, sql))
	cat := &Catalog{SearchPath: []string{schema}, Tables: map[string]TableStats{schema + ".r": {Rows: -1, Bytes: -1}},
		Columns: map[string]string{}, Functions: map[string]Volatility{}}
	rows, err := conn.Query(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'r'::regclass AND attnum > 0 AND NOT attisdropped`)
	require.NoError(t, err)
	for rows.Next() {
		var col, typ string
		require.NoError(t, rows.Scan(&col, &typ))
		cat.Columns[schema+".r."+col] = typ
	}
	require.NoError(t, rows.Err())
	rows, err = conn.Query(ctx, `SELECT n.nspname || '.' || p.proname, max(p.provolatile::text) FROM pg_proc p
		JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = ANY($1) GROUP BY 1`, funcs)
	require.NoError(t, err)
	for rows.Next() {
		var name, vol string
		require.NoError(t, rows.Scan(&name, &vol))
		cat.Functions[name] = Volatility(vol)
	}
	require.NoError(t, rows.Err())
	return cat
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
