package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpToDate: the digest shortcut says up to date only for a history that records exactly
// the files with their checksums and nothing partial; anything else goes to Verify.
func TestUpToDate(t *testing.T) {
	files := map[string]string{
		"V001__a.sql":     "CREATE TABLE a (id int);\n",
		"V002__b.sql":     "CREATE TABLE b (id int);\n",
		"V010__c.sql":     "CREATE TABLE c (id int);\n",
		"R__a_view_ü.sql": "CREATE OR REPLACE VIEW v AS SELECT 1;\n",
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup string // SQL on a history that records every file, applied
		noTab bool
		want  bool
	}{
		{name: "exactly the files", want: true},
		{name: "no revisions schema", noTab: true},
		{name: "no revisions table", noTab: true, setup: "CREATE SCHEMA schemahook"},
		{name: "empty history", setup: "DELETE FROM schemahook.revisions"},
		{name: "a changed applied file", setup: "UPDATE schemahook.revisions SET checksum = md5(checksum) WHERE version = '002'"},
		{name: "a file not applied yet", setup: "DELETE FROM schemahook.revisions WHERE version = '010'"},
		{name: "an applied file gone", setup: "INSERT INTO schemahook.revisions (version, checksum, status) VALUES ('005', 'x', 'applied')"},
		{name: "a partial file", setup: "UPDATE schemahook.revisions SET status = 'partial' WHERE version = '010'"},
		{name: "the same version written otherwise", setup: "UPDATE schemahook.revisions SET version = '1' WHERE version = '001'"},
		{name: "an empty checksum", setup: "UPDATE schemahook.revisions SET checksum = '' WHERE version = '001'"},
		{name: "adopted rows with checksums", setup: "UPDATE schemahook.revisions SET status = 'adopted'", want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.URL(t)
			conn := connect(t, url)
			dir := readDir(t, files)
			if !tc.noTab {
				require.NoError(t, EnsureTable(ctx, conn, "schemahook"))
				for _, f := range dir.Files {
					_, err := conn.Exec(ctx, `INSERT INTO schemahook.revisions (version, checksum, status) VALUES ($1, $2, 'applied')`, Key(f), f.Checksum)
					require.NoError(t, err)
				}
			}
			if tc.setup != "" {
				_, err := conn.Exec(ctx, tc.setup)
				require.NoError(t, err)
			}
			rec, err := ReadRecorded(ctx, conn, "schemahook")
			require.NoError(t, err)
			n, ok := rec.Revisions(), rec.Matches(dir.Files)
			assert.Equal(t, tc.want, ok)
			if ok {
				assert.Equal(t, len(dir.Files), n)
				// What Verify decides from the same history agrees.
				hist, _, err := LoadHistory(ctx, conn, "schemahook")
				require.NoError(t, err)
				p, err := Verify(dir, hist, PlanOptions{})
				require.NoError(t, err)
				assert.Empty(t, p.Pending)
			}
		})
	}
}

// TestReadRecordedMany: thousands of rows, spread over several row blocks and value chunks,
// come back whole and in byte order of version, whatever order the table holds them in.
func TestReadRecordedMany(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, pgtest.URL(t))
	require.NoError(t, EnsureTable(ctx, conn, "schemahook"))
	const n = 3000
	_, err := conn.Exec(ctx, `INSERT INTO schemahook.revisions (version, checksum, status)
SELECT lpad((7919 * i % 3001)::text, 5, '0') || repeat('v', i % 40), repeat(md5(i::text), 2), CASE WHEN i % 1000 = 0 THEN 'partial' ELSE 'applied' END
FROM generate_series(1, $1) i`, n)
	require.NoError(t, err)
	rec, err := ReadRecorded(ctx, conn, "schemahook")
	require.NoError(t, err)
	assert.Equal(t, n, rec.Revisions())
	assert.Equal(t, 3, rec.Partial)
	rows, err := conn.Query(ctx, `SELECT version, checksum FROM schemahook.revisions ORDER BY version COLLATE "C"`)
	require.NoError(t, err)
	var want []keySum
	for rows.Next() {
		var k keySum
		require.NoError(t, rows.Scan(&k.version, &k.checksum))
		want = append(want, k)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, want, rec.rows)
}

// TestMatchesKeyOrder: files whose keys are not in text order (version 10 after 9) are
// matched by sorting, files whose keys are by comparing in turn; either way a history
// matches exactly when it records every file with its checksum.
func TestMatchesKeyOrder(t *testing.T) {
	for _, names := range [][]string{
		{"8_a.sql", "9_b.sql", "10_c.sql", "11_d.sql"}, // keys "10" < "11" < "8" < "9"
		{"08_a.sql", "09_b.sql", "10_c.sql", "11_d.sql"},
	} {
		files := map[string]string{}
		for i, n := range names {
			files[n] = fmt.Sprintf("SELECT %d;\n", i)
		}
		dir := readDir(t, files)
		recorded := func(edit func([]keySum) []keySum) Recorded {
			var rows []keySum
			for _, f := range dir.Files {
				rows = append(rows, keySum{Key(f), f.Checksum})
			}
			rows = edit(rows)
			slices.SortFunc(rows, byVersion)
			return Recorded{rows: rows}
		}
		for _, tc := range []struct {
			name string
			edit func([]keySum) []keySum
			want bool
		}{
			{"every file", func(r []keySum) []keySum { return r }, true},
			{"a checksum changed", func(r []keySum) []keySum { r[2].checksum = "x"; return r }, false},
			{"the first checksum changed", func(r []keySum) []keySum { r[0].checksum = "x"; return r }, false},
			{"a file missing", func(r []keySum) []keySum { return append(r[:1], r[2:]...) }, false},
			{"a version written otherwise", func(r []keySum) []keySum { r[1].version = "0" + r[1].version; return r }, false},
		} {
			t.Run(names[0]+" "+tc.name, func(t *testing.T) {
				rec := recorded(tc.edit)
				assert.Equal(t, tc.want, rec.Matches(dir.Files))
			})
		}
	}
}
