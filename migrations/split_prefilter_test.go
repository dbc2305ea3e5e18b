package migrations

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// noTxCases are statements Postgres refuses in a transaction block, one of each way
// refusesTx can say so, with spellings the keyword prefilter must still catch.
var noTxCases = []string{
	"CREATE INDEX CONCURRENTLY i ON t (a)",
	"create unique index concurrently if not exists i on t (a)",
	"CrEaTe InDeX CoNcUrReNtLy i ON t (a)",
	"DROP INDEX CONCURRENTLY i",
	"DROP INDEX CONCURRENTLY IF EXISTS i",
	"REINDEX INDEX CONCURRENTLY i",
	"REINDEX (CONCURRENTLY) TABLE t",
	"REINDEX (CONCURRENTLY true) TABLE t",
	"REINDEX SCHEMA s",
	"REINDEX SYSTEM",
	"REINDEX DATABASE d",
	"VACUUM",
	"vacuum full t",
	"VACUUM (ANALYZE) t",
	"VACUUM ANALYZE t",
	"CREATE DATABASE d",
	"CREATE DATABASE d WITH TEMPLATE template0",
	"DROP DATABASE d",
	"DROP DATABASE IF EXISTS d WITH (FORCE)",
	"ALTER DATABASE d SET TABLESPACE x",
	"CREATE TABLESPACE x LOCATION '/x'",
	"DROP TABLESPACE x",
	"ALTER SYSTEM SET work_mem = '1MB'",
	"ALTER SYSTEM RESET ALL",
	"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
	"ALTER SUBSCRIPTION s REFRESH PUBLICATION",
	"ALTER SUBSCRIPTION s SET PUBLICATION p",
	"ALTER SUBSCRIPTION s ADD PUBLICATION p",
	"ALTER SUBSCRIPTION s DROP PUBLICATION p",
	"DROP SUBSCRIPTION s",
	"DROP SUBSCRIPTION IF EXISTS s",
	"ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
	"ALTER TABLE IF EXISTS ONLY p DETACH PARTITION c CONCURRENTLY",
	"CLUSTER",
	"CLUSTER VERBOSE",
	"DISCARD ALL",
	"COMMIT PREPARED 'x'",
	"ROLLBACK PREPARED 'x'",
	"/* leading */ -- comment\n  VACUUM",
}

// TestNoTxPrefilter: every statement that refuses a transaction is still found by the cheap
// path, and the prefilter passes every one of them on to the parser.
func TestNoTxPrefilter(t *testing.T) {
	for _, sql := range noTxCases {
		t.Run(sql, func(t *testing.T) {
			require.True(t, mayRefuseTx(sql))
			got, err := Split(sql)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.True(t, got[0].NoTx)
			idx := newLineIndex(sql)
			ref, rerr := splitRangeTree(sql, idx, 0, len(sql))
			require.Nil(t, rerr)
			require.Equal(t, ref, got)
		})
	}
	for _, k := range txKeywords {
		for _, text := range []string{k, strings.ToUpper(k), "x" + k + "x", strings.ToUpper(k[:1]) + k[1:]} {
			require.True(t, mayRefuseTx(text), text)
		}
		require.False(t, mayRefuseTx(k[:len(k)-1]), k)
	}
	for _, sql := range []string{"CREATE TABLE t (a int)", "SELECT 1", "CREATE INDEX i ON t (a)", "INSERT INTO t VALUES ('x')", "ANALYZE t"} {
		require.False(t, mayRefuseTx(sql), sql)
	}
}

// splitCorpus is SQL the parity checks run over: the cases of this package's tests and
// fuzz seeds, the fixtures, and texts chosen to trip a boundary or the prefilter.
func splitCorpus(t testing.TB) []string {
	corpus := []string{
		"SELECT 1; SELECT 2", "CREATE FUNCTION f() AS $x$ ; $x$ LANGUAGE sql;", "-- c\n/* d */", "SELECT 'é';;", "SELECT $$",
		"SELECT 1;\nSELECT 2;\n", "SELECT ';' AS \"a;b\"; /* x; y */ SELECT 2 -- z;\n;", "-- first\nSELECT 1;",
		";;SELECT 1;;\n;", "", "  \n\t", ";", ";;;",
		"CREATE INDEX CONCURRENTLY i ON t (a); CREATE INDEX j ON t (b);",
		"CREATE INDEX j ON t (b); -- not CONCURRENTLY\nSELECT 'VACUUM', \"database\"; /* ALTER SYSTEM */",
		"CREATE TABLE system_database (subscription text, prepared bool, cluster int, discard int)",
		"ANALYZE t; VACUUM t; DISCARD PLANS; DISCARD ALL; CLUSTER t USING i; CLUSTER",
		"ALTER SUBSCRIPTION s DISABLE; ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
		"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (connect = false); DROP SUBSCRIPTION s",
		"REINDEX (CONCURRENTLY false) TABLE t; REINDEX TABLE t; REINDEX SYSTEM",
		"CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); VACUUM",
		"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'VACUUM'; END $$; VACUUM",
		"SELECT 1 -- trailing comment without newline",
		"SELECT 1 \u00a0; SELECT 2\u0085",
		"\r\n\tSELECT 1\r\n;\r\n",
		"SELECT 'é' FROM;", "SELECT $$abc", "CREATE TABLE t (a int", "SELECT 1;\nSELEC 2;",
	}
	for _, sql := range noTxCases {
		corpus = append(corpus, sql, sql+";\nSELECT 1;", "SELECT 1;\n"+sql+"\n;")
	}
	err := filepath.WalkDir("testdata", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".sql") || strings.Contains(p, "fuzz") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			corpus = append(corpus, string(b))
		}
		return nil
	})
	require.NoError(t, err)
	return corpus
}

// TestSplitParity: splitRange, which parses only statements the prefilter lets through, gives
// exactly what one parse of the whole text gives (statements, positions, NoTx and errors),
// and the prefilter never drops a statement the parser marks NoTx.
func TestSplitParity(t *testing.T) {
	for _, sql := range splitCorpus(t) {
		checkSplitParity(t, sql)
	}
}

func checkSplitParity(t testing.TB, sql string) {
	t.Helper()
	if checkText(sql) != nil {
		return
	}
	// A prefix keeps positions relative to the whole content, as Read's sections do.
	for _, prefix := range []string{"", "-- +goose Up\n"} {
		content := prefix + sql
		idx := newLineIndex(content)
		got, gerr := splitRange(content, idx, len(prefix), len(content))
		want, werr := splitRangeTree(content, idx, len(prefix), len(content))
		require.Equal(t, werr, gerr, "error for %q", sql)
		require.Equal(t, want, got, "statements of %q", sql)
		for _, s := range want {
			if s.NoTx {
				require.True(t, mayRefuseTx(s.SQL), "prefilter misses %q", s.SQL)
			}
		}
	}
}

// FuzzSplitParity is TestSplitParity on arbitrary text.
func FuzzSplitParity(f *testing.F) {
	for _, sql := range splitCorpus(f) {
		f.Add(sql)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		checkSplitParity(t, sql)
	})
}
