package hooks

import (
	"testing"

	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlywayRepeatables: R__ files run after the versioned ones, and again only when
// their checksum changes.
func TestFlywayRepeatables(t *testing.T) {
	url := pgtest.URL(t)
	files := map[string]string{
		"V1__customers.sql":    "CREATE TABLE customers (id int, email text);\n",
		"R__customer_view.sql": "CREATE OR REPLACE VIEW customer_emails AS SELECT email FROM customers;\n",
	}
	r := apply(t, Options{Dir: writeDir(t, files), URL: url})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	require.Len(t, r.report.Applied, 2)
	assert.Equal(t, "1", r.report.Applied[0].Version)
	assert.Equal(t, "", r.report.Applied[1].Version, "the repeatable runs last")

	r = apply(t, Options{Dir: writeDir(t, files), URL: url})
	require.Zero(t, r.code)
	assert.Equal(t, "up-to-date", r.report.Status)

	files["R__customer_view.sql"] = "CREATE OR REPLACE VIEW customer_emails AS SELECT email, id FROM customers;\n"
	files["V2__name.sql"] = "ALTER TABLE customers ADD COLUMN name text;\n"
	r = apply(t, Options{Dir: writeDir(t, files), URL: url})
	require.Zero(t, r.code, "%v", r.err)
	require.Len(t, r.report.Applied, 2)
	assert.Equal(t, "2", r.report.Applied[0].Version)
	assert.Contains(t, r.report.Applied[1].Name, "R__customer_view.sql")
	assert.Equal(t, 2, queryInt(t, url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'customer_emails'"))
}

// TestAdoptThroughTheHook: a database migrated by golang-migrate switches to schemahook
// and re-applies nothing.
func TestAdoptThroughTheHook(t *testing.T) {
	url := pgtest.URL(t)
	execSQL(t, url, `CREATE TABLE a (id int); CREATE TABLE b (id int);
CREATE TABLE IF NOT EXISTS "schema_migrations" (version bigint not null primary key, dirty boolean not null);
INSERT INTO schema_migrations VALUES (2, false);`)
	dir := writeDir(t, map[string]string{
		"000001_a.up.sql": "CREATE TABLE a (id int);\n", "000001_a.down.sql": "DROP TABLE a;\n",
		"000002_b.up.sql": "CREATE TABLE b (id int);\n", "000002_b.down.sql": "DROP TABLE b;\n",
		"000003_c.up.sql": "CREATE TABLE c (id int);\n", "000003_c.down.sql": "DROP TABLE c;\n",
	})
	r := apply(t, Options{Dir: dir, URL: url})
	require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
	assert.Contains(t, r.stderr, "adopting the history of golang-migrate")
	require.Len(t, r.report.Applied, 1)
	assert.Equal(t, "000003", r.report.Applied[0].Version)
	assert.Equal(t, 2, queryInt(t, url, "SELECT count(*) FROM schemahook.revisions WHERE status = 'adopted'"))
}
