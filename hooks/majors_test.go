package hooks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// legacySchema is what a target holds before schemahook: objects made by hand, which only
// the schema copy (pg_dump of the target, restored on the dev server) knows about.
const legacySchema = `
CREATE EXTENSION citext;
CREATE SCHEMA legacy;
CREATE TYPE legacy.tier AS ENUM ('free', 'paid');
CREATE TABLE legacy.users (id int PRIMARY KEY, email citext NOT NULL, tier legacy.tier NOT NULL DEFAULT 'free');
CREATE VIEW legacy.paying AS SELECT id, email FROM legacy.users WHERE tier = 'paid';
CREATE FUNCTION legacy.user_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM legacy.users';
`

// extensionFiles create and use contrib extensions every supported server build carries.
var extensionFiles = map[string]string{
	"001_extensions.sql": "CREATE EXTENSION IF NOT EXISTS pgcrypto;\nCREATE EXTENSION IF NOT EXISTS citext;\nCREATE EXTENSION IF NOT EXISTS pg_trgm;\n",
	"002_accounts.sql": `CREATE TABLE accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email citext NOT NULL UNIQUE,
  password_hash text NOT NULL,
  name text NOT NULL
);
CREATE INDEX accounts_name_trgm ON accounts USING gin (name gin_trgm_ops);
`,
	"003_admin.sql": "INSERT INTO accounts (email, password_hash, name) VALUES ('Admin@Example.com', crypt('secret', gen_salt('bf')), 'Admin');\n",
}

// useMajors points the binary search at the servers of $SCHEMAHOOK_TEST_PG_MAJORS only, as
// the image's /usr/lib/postgresql/<major>/bin would be.
func useMajors(t *testing.T, bins []devdb.Bin) {
	var dirs []string
	for _, b := range bins {
		dirs = append(dirs, b.Dir)
	}
	t.Setenv(devdb.EnvBin, "")
	t.Setenv(devdb.EnvPath, strings.Join(dirs, string(filepath.ListSeparator)))
}

// TestDefaultRunOnEveryMajor runs the hook as the rendered Job does (ephemeral dev replay,
// schema copy, lint policy error, apply) against real targets of every Postgres major of
// $SCHEMAHOOK_TEST_PG_MAJORS that hold a schema made by hand, then again (up-to-date), then
// with a file that only the schema copy refuses, then with an extension no dev server has.
func TestDefaultRunOnEveryMajor(t *testing.T) {
	bins := pgtest.Majors(t)
	useMajors(t, bins)
	for _, b := range bins {
		t.Run(fmt.Sprintf("postgres%d", b.Major), func(t *testing.T) {
			url := pgtest.StartServer(t, b).URL("postgres")
			execSQL(t, url, legacySchema)
			dir := writeDir(t, extensionFiles)

			r := apply(t, Options{Dir: dir, URL: url, DevURL: "ephemeral", Lint: "error"})
			require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
			assert.Equal(t, "applied", r.report.Status)
			assert.Len(t, r.report.Applied, 3)
			assert.Contains(t, r.stderr, fmt.Sprintf("started an ephemeral Postgres %d for the dev replay", b.Major))
			assert.NotContains(t, r.stderr, "nearest newer")
			assert.Contains(t, r.stderr, "replayed all 3 files on a fresh dev database")
			assert.Contains(t, r.stderr, "applied the 3 pending files to a schema-only copy of the target")
			assert.Equal(t, 1, queryInt(t, url, "SELECT count(*) FROM accounts WHERE email = 'admin@example.com' AND password_hash = crypt('secret', password_hash)"))
			assert.Equal(t, 1, queryInt(t, url, "SELECT count(*) FROM accounts WHERE name % 'Admn'"), "pg_trgm similarity")

			r = apply(t, Options{Dir: dir, URL: url, DevURL: "ephemeral", Lint: "error"})
			require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
			assert.Equal(t, "up-to-date", r.report.Status)

			// The fresh replay cannot know legacy exists; the copy of the target does.
			before := catalog(t, url)
			r = apply(t, Options{Dir: writeDir(t, with(extensionFiles, "004_legacy.sql", "CREATE SCHEMA legacy;\n")), URL: url, DevURL: "ephemeral", Lint: "error"})
			require.Equal(t, failure.ExitDev, r.code, "%v\n%s", r.err, r.stderr)
			assert.Equal(t, failure.StageDev, r.err.Stage)
			assert.Contains(t, r.err.Msg, "copy of the target's schema")
			assert.Contains(t, r.err.Msg, `schema "legacy" already exists`)
			assert.Equal(t, before, catalog(t, url), "target changed")

			r = apply(t, Options{Dir: writeDir(t, with(extensionFiles, "004_geo.sql", "CREATE EXTENSION postgis;\n")), URL: url, DevURL: "ephemeral", Lint: "error"})
			require.Equal(t, failure.ExitDev, r.code, "%v\n%s", r.err, r.stderr)
			assert.Equal(t, failure.StageDev, r.err.Stage)
			assert.Equal(t, "dev-extension-missing", r.err.Rule)
			assert.Contains(t, r.err.File, "004_geo.sql")
			assert.Contains(t, r.err.Msg, `no extension "postgis" installed`)
			assert.Contains(t, r.err.Msg, "dev.url")
			assert.Contains(t, r.err.Msg, "FROM the schemahook image")
			assert.Equal(t, before, catalog(t, url), "target changed")
		})
	}
}

// TestDevServerChoice proves the rules for a dev server whose major is not the target's:
// the nearest newer major (logged), never an older one (refused naming the majors and the
// fix), the same for a dev server given by URL, and pg_dump at least the target's major.
func TestDevServerChoice(t *testing.T) {
	bins := pgtest.Majors(t)
	if len(bins) < 2 {
		t.Skipf("%s lists one major; the test needs two", pgtest.EnvMajors)
	}
	oldClient := os.Getenv(devdb.EnvBin) // Debian's, with its pg_dump (scripts/test.sh)
	useMajors(t, bins)
	oldest, newer, newest := bins[0], bins[1], bins[len(bins)-1]
	oldSrv, newSrv := pgtest.StartServer(t, oldest), pgtest.StartServer(t, newest)
	oldURL, newURL := oldSrv.URL("postgres"), newSrv.URL("postgres")
	dir := writeDir(t, base)
	plan := func(t *testing.T, url, devURL string) result {
		t.Helper()
		return runMode(t, ModePlan, Options{Dir: dir, URL: url, DevURL: devURL})
	}
	refused := func(t *testing.T, r result, url, rule string, msg ...string) {
		t.Helper()
		require.Equal(t, failure.ExitDev, r.code, "%v\n%s", r.err, r.stderr)
		assert.Equal(t, failure.StageDev, r.err.Stage)
		assert.Equal(t, rule, r.err.Rule)
		for _, m := range msg {
			assert.Contains(t, r.err.Msg, m)
		}
		assert.Zero(t, queryInt(t, url, "SELECT count(*) FROM pg_class WHERE relname IN ('customers', 'revisions')"), "target touched")
	}

	t.Run("nearest newer major", func(t *testing.T) {
		t.Setenv(devdb.EnvBin, newer.Dir)
		r := plan(t, oldURL, "ephemeral")
		require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
		assert.Contains(t, r.stderr, fmt.Sprintf("no Postgres %d server binaries found: the dev replay runs on Postgres %d (%s), the nearest newer major", oldest.Major, newer.Major, newer.Dir))
		assert.Contains(t, r.stderr, fmt.Sprintf("started an ephemeral Postgres %d", newer.Major))
	})
	t.Run("only older majors", func(t *testing.T) {
		t.Setenv(devdb.EnvBin, oldest.Dir)
		r := apply(t, Options{Dir: dir, URL: newURL, DevURL: "ephemeral"})
		refused(t, r, newURL, "dev-server",
			fmt.Sprintf("major version %d (the target's) or newer", newest.Major),
			fmt.Sprintf("%s (major %d)", oldest.Dir, oldest.Major),
			fmt.Sprintf("fix: install the Postgres %d server", newest.Major))
	})
	t.Run("dev url older than the target", func(t *testing.T) {
		r := apply(t, Options{Dir: dir, URL: newURL, DevURL: oldURL})
		refused(t, r, newURL, "dev-server-version",
			fmt.Sprintf("runs Postgres %d, older than the target's %d", oldest.Major, newest.Major),
			fmt.Sprintf("point dev.url at a dev server of Postgres %d (or newer)", newest.Major))
	})
	t.Run("dev url newer than the target", func(t *testing.T) {
		// An object made by hand gives the copy replay a dump of the older major to restore
		// (an empty target's copy would repeat the fresh replay, and is skipped).
		execSQL(t, oldURL, "CREATE TABLE made_by_hand (id int)")
		r := plan(t, oldURL, newURL)
		require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
		assert.Contains(t, r.stderr, fmt.Sprintf("the dev server runs Postgres %d, newer than the target's %d", newest.Major, oldest.Major))
		assert.Contains(t, r.stderr, "applied the 3 pending files to a schema-only copy of the target")
	})
	t.Run("pg_dump older than the target", func(t *testing.T) {
		t.Setenv(devdb.EnvClientBin, oldClient)
		b, err := devdb.FindClient(0)
		if oldClient == "" || err != nil || b.Major >= newest.Major {
			t.Skipf("no pg_dump older than Postgres %d in $SCHEMAHOOK_PG_BIN (%q)", newest.Major, oldClient)
		}
		r := apply(t, Options{Dir: dir, URL: newURL, DevURL: "ephemeral"})
		refused(t, r, newURL, "schema-copy",
			fmt.Sprintf("pg_dump and psql of major version %d (the target's) or newer", newest.Major),
			fmt.Sprintf("%s (major %d)", oldClient, b.Major))
	})
}
