package schema

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sample builds tables, a column default, a sequence, an identity, a check, a foreign key,
// an index, a view, a function, a trigger, an enum and an extension: the kinds of object
// whose dump could differ between runs or majors.
var sample = map[string]string{
	"001_customers.sql": `CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE status AS ENUM ('new', 'paid');
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email citext NOT NULL UNIQUE);
COMMENT ON TABLE customers IS 'people who order';
`,
	"002_orders.sql": `CREATE TABLE orders (
  id serial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  status status NOT NULL DEFAULT 'new',
  total numeric CHECK (total >= 0),
  "Odd Name" text
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE VIEW paid_orders AS SELECT id, total FROM orders WHERE status = 'paid';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
`,
}

func writeDir(t *testing.T, files map[string]string) *migrations.Dir {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644))
	}
	d, err := migrations.Read(os.DirFS(dir), migrations.Options{})
	require.NoError(t, err)
	return d
}

func build(t *testing.T, d *migrations.Dir, o BuildOptions) string {
	t.Helper()
	s, err := Build(context.Background(), d, o)
	require.NoError(t, err)
	return s.Text()
}

// TestBuildTwiceIdentical: two runs on two fresh databases give the same text, free of
// pg_dump's banners, settings and random \restrict key.
func TestBuildTwiceIdentical(t *testing.T) {
	d := writeDir(t, sample)
	o := BuildOptions{DevURL: pgtest.AdminURL(t)}
	a, b := build(t, d, o), build(t, d, o)
	assert.Equal(t, a, b)
	for _, want := range []string{"CREATE TABLE public.orders (", "Type: INDEX; Schema: public", "orders_customer", "CREATE FUNCTION public.touch()", "\"Odd Name\" text"} {
		assert.Contains(t, a, want)
	}
	for _, noise := range []string{"restrict", "Dumped", "\nSET ", "set_config", "Owner:"} {
		assert.NotContains(t, a, noise)
	}
}

// TestBuildSameOnEveryMajor: the text is the same on every major of
// $SCHEMAHOOK_TEST_PG_MAJORS (ephemeral servers, as `schemahook schema` starts them).
func TestBuildSameOnEveryMajor(t *testing.T) {
	bins := pgtest.Majors(t)
	var dirs []string
	for _, b := range bins {
		dirs = append(dirs, b.Dir)
	}
	t.Setenv(devdb.EnvBin, "")
	t.Setenv(devdb.EnvPath, strings.Join(dirs, string(filepath.ListSeparator)))
	d := writeDir(t, sample)
	first := ""
	for _, b := range bins {
		got := build(t, d, BuildOptions{Major: b.Major})
		if first == "" {
			first = got
			continue
		}
		assert.Equal(t, first, got, "Postgres %d differs from Postgres %d", b.Major, bins[0].Major)
	}
	require.NotEmpty(t, first)
}
