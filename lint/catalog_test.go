package lint

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCatalog lints with a hand-built catalog snapshot, as the hook Job fills one: each case
// names the finding (or its absence) and what its severity, table and message must be.
func TestCatalog(t *testing.T) {
	const mb = 1 << 20
	orders := "CREATE TABLE orders (id bigint PRIMARY KEY, note varchar(10), n integer);"
	withTables := func(tabs map[string]TableStats) *Catalog {
		return &Catalog{SearchPath: []string{"public"}, Tables: tabs}
	}
	big := withTables(map[string]TableStats{"public.orders": {Rows: 1_234_567, Bytes: 340 * mb}})
	tiny := withTables(map[string]TableStats{"public.orders": {Rows: 12, Bytes: 16 << 10}})
	unanalyzed := withTables(map[string]TableStats{"public.orders": {Rows: -1, Bytes: 16 << 10}})
	small := &SmallTable{Rows: 10_000, Bytes: 10 * mb}
	funcs := &Catalog{SearchPath: []string{"app", "public"}, Functions: map[string]Volatility{
		"app.next_code": Volatile, "app.tenant": Stable, "public.slug": Immutable, "pg_catalog.now": Stable,
	}}
	cases := []struct {
		name     string
		opts     Options
		earlier  string // "" for orders
		sql      string
		code     string
		severity string // "" when the code must not be found
		msg      string // a part of the message
		table    string // "none": the finding names no table
	}{
		{"volatile user function", Options{Catalog: funcs}, "", "ALTER TABLE orders ADD COLUMN c text DEFAULT next_code();", codeVolatileDef, SeverityError, "next_code() of new column app.orders.c is volatile", "app.orders"}, // orders was created under this search path
		{"stable user function", Options{Catalog: funcs}, "", "ALTER TABLE orders ADD COLUMN c text DEFAULT tenant();", codeVolatileDef, "", "", ""},
		{"immutable qualified function", Options{Catalog: funcs}, "", "ALTER TABLE orders ADD COLUMN c text DEFAULT public.slug('x');", codeVolatileDef, "", "", ""},
		{"unknown without a catalog", Options{}, "", "ALTER TABLE orders ADD COLUMN c text DEFAULT next_code();", codeVolatileDef, SeverityWarning, "volatility is unknown without a database", "public.orders"},
		{"uuid() unknown without a catalog", Options{}, "", "ALTER TABLE orders ADD COLUMN c uuid DEFAULT uuid();", codeVolatileDef, SeverityWarning, "uuid()", "public.orders"},
		{"known built-in without a catalog", Options{}, "", "ALTER TABLE orders ADD COLUMN c text DEFAULT lower('X');", codeVolatileDef, "", "", ""},
		{"volatile nested in a known call", Options{}, "", "ALTER TABLE orders ADD COLUMN c text DEFAULT md5(random()::text);", codeVolatileDef, SeverityError, "random()", ""},
		{"earlier file creates a stable function", Options{}, orders + "\nCREATE FUNCTION tenant() RETURNS text LANGUAGE sql STABLE AS 'SELECT 1';", "ALTER TABLE orders ADD COLUMN c text DEFAULT tenant();", codeVolatileDef, "", "", ""},
		{"pending file creates a function, volatile by default", Options{}, "", "CREATE FUNCTION code() RETURNS text LANGUAGE sql AS 'SELECT 1';\nALTER TABLE orders ADD COLUMN c text DEFAULT code();", codeVolatileDef, SeverityError, "code() of new column public.orders.c is volatile", ""},
		{"the catalog's type: wider varchar", Options{Catalog: &Catalog{Columns: map[string]string{"public.orders.note": "character varying(10)"}}}, "SELECT 1;", "ALTER TABLE orders ALTER COLUMN note TYPE varchar(20);", codeTypeRewrite, "", "", ""},
		{"the catalog's type: varchar to text", Options{Catalog: &Catalog{Columns: map[string]string{"public.orders.note": "character varying"}}}, "SELECT 1;", "ALTER TABLE orders ALTER COLUMN note TYPE text;", codeTypeRewrite, "", "", ""},
		{"the catalog's type: int to bigint", Options{Catalog: &Catalog{Columns: map[string]string{"public.orders.n": "integer"}}}, "SELECT 1;", "ALTER TABLE orders ALTER COLUMN n TYPE bigint;", codeTypeRewrite, SeverityError, "from int4 to int8", "public.orders"},
		{"the catalog's type wins over the files", Options{Catalog: &Catalog{Columns: map[string]string{"public.orders.note": "text"}}}, "", "ALTER TABLE orders ALTER COLUMN note TYPE text;", codeTypeRewrite, "", "", ""},
		{"unqualified name under the search path", Options{Catalog: &Catalog{SearchPath: []string{"app", "public"}, Tables: map[string]TableStats{"app.orders": {Rows: 5, Bytes: 8192}, "public.orders": {Rows: 9, Bytes: 8192}}}}, "SELECT 1;", "CREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "existing table app.orders", "app.orders"},
		{"the search path skips a schema without the table", Options{Catalog: &Catalog{SearchPath: []string{"app", "public"}, Tables: map[string]TableStats{"public.orders": {Rows: 5, Bytes: 8192}}}}, "SELECT 1;", "CREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "existing table public.orders", "public.orders"},
		{"a table created in the first schema is new", Options{Catalog: &Catalog{SearchPath: []string{"app", "public"}, Tables: map[string]TableStats{"public.orders": {Rows: 5, Bytes: 8192}}}}, "SELECT 1;", "CREATE TABLE orders (id bigint);\nCREATE INDEX orders_id_idx ON orders (id);\nDROP INDEX orders_id_idx;", codeIndexLock, "", "", ""},
		{"SET search_path in the file", Options{Catalog: &Catalog{SearchPath: []string{"public"}, Tables: map[string]TableStats{"app.orders": {Rows: 5, Bytes: 8192}, "public.orders": {Rows: 9, Bytes: 8192}}}}, "SELECT 1;", "SET search_path = app, public;\nCREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "existing table app.orders", "app.orders"},
		{"RESET search_path", Options{Catalog: &Catalog{SearchPath: []string{"public"}, Tables: map[string]TableStats{"app.orders": {Rows: 5, Bytes: 8192}, "public.orders": {Rows: 9, Bytes: 8192}}}}, "SELECT 1;", "SET search_path = app;\nRESET search_path;\nCREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "existing table public.orders", "public.orders"},
		{"an earlier file's SET search_path ends with its session", Options{Catalog: &Catalog{SearchPath: []string{"public"}, Tables: map[string]TableStats{"app.orders": {Rows: 5, Bytes: 8192}, "public.orders": {Rows: 9, Bytes: 8192}}}}, "SET search_path = app;", "CREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "existing table public.orders", "public.orders"},
		{"the unqualified-name rule still sees the name as written", Options{Policy: Policy{Rules: map[string]Level{codeUnqualified: LevelError}}, Catalog: &Catalog{SearchPath: []string{"app", "public"}, Tables: map[string]TableStats{"app.orders": {Rows: 5, Bytes: 8192}}}}, "SELECT 1;", "DROP TABLE orders;", codeUnqualified, SeverityError, "table orders is named without a schema", ""},
		{"the unqualified-name rule on a range variable", Options{Policy: Policy{Rules: map[string]Level{codeUnqualified: LevelError}}, Catalog: &Catalog{SearchPath: []string{"app", "public"}, Tables: map[string]TableStats{"app.orders": {Rows: 5, Bytes: 8192}}}}, "SELECT 1;", "CREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);", codeUnqualified, SeverityError, "table orders is named without a schema", ""},
		{"size in the message", Options{Catalog: big}, "", "CREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "; public.orders: ~1.2M rows, 340 MB", "public.orders"},
		{"large table stays an error", Options{Catalog: big, SmallTable: small}, "", "CREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "~1.2M rows", "public.orders"},
		{"small table is a warning", Options{Catalog: tiny, SmallTable: small}, "", "CREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityWarning, "~12 rows, 16 kB; a warning, not an error, since the table is small", "public.orders"},
		{"small table without the policy", Options{Catalog: tiny}, "", "CREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "~12 rows, 16 kB", "public.orders"},
		{"never analyzed: the size decides", Options{Catalog: unanalyzed, SmallTable: small}, "", "ALTER TABLE orders ADD CONSTRAINT n_pos CHECK (n > 0);", codeValidate, SeverityWarning, "rows not estimated (never analyzed), 16 kB", "public.orders"},
		{"size-independent rules are not downgraded", Options{Catalog: tiny, SmallTable: small}, "", "ALTER TABLE orders DROP COLUMN note;", codeDropColumn, SeverityError, "~12 rows", "public.orders"},
		{"VACUUM FULL of one table is sized", Options{Catalog: tiny}, "", "VACUUM FULL orders;", codeVacuumFull, SeverityError, "; public.orders: ~12 rows", "public.orders"},
		{"TRUNCATE of two tables names no one size", Options{Catalog: tiny}, orders + "\nCREATE TABLE items (id bigint);", "TRUNCATE items, orders;", codeTruncate, SeverityError, "existing table public.orders", "none"},
		{"a table not on the target keeps its level", Options{Catalog: withTables(nil), SmallTable: small}, "", "CREATE INDEX orders_note_idx ON orders (note);", codeIndexLock, SeverityError, "while it builds", "public.orders"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			earlier := tc.earlier
			if earlier == "" {
				earlier = orders
			}
			res := lintSQL(t, tc.opts, earlier, tc.sql)
			var got *Finding
			for i := range res.Findings {
				if res.Findings[i].Code == tc.code {
					got = &res.Findings[i]
				}
			}
			if tc.severity == "" {
				assert.Nil(t, got, "%v", res.Findings)
				return
			}
			require.NotNil(t, got, "%s not in %v", tc.code, res.Findings)
			assert.Equal(t, tc.severity, got.Severity, got.Message)
			assert.Contains(t, got.Message, tc.msg)
			switch tc.table {
			case "none":
				assert.Empty(t, got.Table)
				assert.NotContains(t, got.Message, "rows")
			case "":
			default:
				assert.Equal(t, tc.table, got.Table)
			}
		})
	}
}

// TestCatalogFindingSize checks the size fields a JSON or SARIF consumer reads.
func TestCatalogFindingSize(t *testing.T) {
	cat := &Catalog{Tables: map[string]TableStats{"public.orders": {Rows: -1, Bytes: 24576}}}
	res := lintSQL(t, Options{Catalog: cat, SmallTable: &SmallTable{Rows: 10, Bytes: 1 << 20}},
		"CREATE TABLE orders (id bigint);", "CREATE INDEX i ON orders (id);")
	require.Len(t, res.Findings, 2, "%v", res.Findings) // SH301 and SH310
	f := res.Findings[0]
	assert.Nil(t, f.Rows)
	require.NotNil(t, f.Bytes)
	assert.Equal(t, int64(24576), *f.Bytes)
	assert.True(t, f.SmallTable)
	assert.False(t, res.Blocked)
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"10MB", 10 << 20, false}, {"512 kB", 512 << 10, false}, {"1gb", 1 << 30, false},
		{"2TB", 2 << 40, false}, {"4096", 4096, false}, {"4096B", 4096, false},
		{"10 MiB", 0, true}, {"-1MB", 0, true}, {"", 0, true}, {"99999999999TB", 0, true},
	} {
		got, err := ParseSize(tc.in)
		if tc.bad {
			assert.Error(t, err, tc.in)
			continue
		}
		assert.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for in, want := range map[int64]string{8192: "8192 bytes", 16 << 10: "16 kB", 340 << 20: "340 MB", 3 << 30: "3072 MB", 12 << 30: "12 GB"} {
		assert.Equal(t, want, FormatBytes(in))
	}
	for in, want := range map[int64]string{0: "~0 rows", 999: "~999 rows", 35_000: "~35k rows", 1_234_567: "~1.2M rows", 2_000_000_000: "~2B rows"} {
		assert.Equal(t, want, formatRows(in))
	}
}

func TestMentions(t *testing.T) {
	files := readDir(t, "ALTER TABLE app.Orders ADD COLUMN c text DEFAULT app.next_code(lower('x'));\nDROP TABLE old_stuff, archive.gone;")
	rels, funcs := Mentions(files)
	assert.Equal(t, "gone,old_stuff,orders", strings.Join(rels, ","))
	assert.Equal(t, "lower,next_code", strings.Join(funcs, ","))
}
