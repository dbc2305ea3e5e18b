package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

// TestURL proves each test gets its own empty database and that it is dropped afterwards.
func TestURL(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("fresh", func(t *testing.T) {
		u1, u2 := URL(t), URL(t)
		assert.NotEqual(t, u1, u2)
		conn, err := pgx.Connect(ctx, u1)
		require.NoError(t, err)
		defer conn.Close(ctx)
		var tables int
		require.NoError(t, conn.QueryRow(ctx, "SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')").Scan(&name, &tables))
		assert.Equal(t, 0, tables)
		_, err = conn.Exec(ctx, "CREATE TABLE t (id int)")
		require.NoError(t, err)
	})
	conn, err := pgx.Connect(ctx, AdminURL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n))
	assert.Equal(t, 0, n, "database %s not dropped after its test", name)
	assert.DirExists(t, BinDir(t))
}
