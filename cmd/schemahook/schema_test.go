package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSchemaCommand: write, then --check passes; a new migration makes --check exit 4
// naming the new column and the refresh command; writing again fixes it.
func TestSchemaCommand(t *testing.T) {
	app := t.TempDir()
	mig := filepath.Join(app, "migrations")
	require.NoError(t, os.MkdirAll(mig, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mig, "001_orders.sql"), []byte("CREATE TABLE orders (id bigint PRIMARY KEY);\n"), 0o644))
	dev := "--dev-url=" + pgtest.AdminURL(t)

	out, msg, code := execCmd(t, newSchemaCmd(), app, dev)
	require.Zero(t, code, msg)
	assert.Contains(t, out, "wrote "+filepath.Join(app, "schema.sql"))
	first, err := os.ReadFile(filepath.Join(app, "schema.sql"))
	require.NoError(t, err)
	assert.Contains(t, string(first), "-- schemahook: built from migrations h1:")
	assert.Contains(t, string(first), "CREATE TABLE public.orders (")

	_, msg, code = execCmd(t, newSchemaCmd(), app, dev, "--check")
	require.Zero(t, code, msg)

	require.NoError(t, os.WriteFile(filepath.Join(mig, "002_status.sql"), []byte("ALTER TABLE orders ADD COLUMN status text;\n"), 0o644))
	_, msg, code = execCmd(t, newSchemaCmd(), app, dev, "--check")
	assert.Equal(t, 4, code)
	assert.Contains(t, msg, "schema.sql: stale schema.sql: the migrations build a different schema: column public.orders.status added")
	assert.Contains(t, msg, "run `schemahook schema "+app+"`")

	_, msg, code = execCmd(t, newSchemaCmd(), app, dev)
	require.Zero(t, code, msg)
	second, err := os.ReadFile(filepath.Join(app, "schema.sql"))
	require.NoError(t, err)
	assert.Contains(t, string(second), "    status text")
	_, msg, code = execCmd(t, newSchemaCmd(), app, dev, "--check")
	assert.Zero(t, code, msg)
}
