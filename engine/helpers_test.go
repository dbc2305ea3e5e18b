package engine

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// readDir reads files (name → content) through migrations.Read, as a run does.
func readDir(t testing.TB, files map[string]string) *migrations.Dir {
	t.Helper()
	d, err := migrations.Read(testfs.MapFS(files), migrations.Options{})
	require.NoError(t, err)
	return d
}

func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := Connect(context.Background(), url, ConnectOptions{Timeout: 0})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryInt(t testing.TB, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func history(t testing.TB, conn *pgx.Conn) map[string]Revision {
	t.Helper()
	revs, _, err := LoadHistory(context.Background(), conn, "schemahook")
	require.NoError(t, err)
	m := map[string]Revision{}
	for _, r := range revs {
		m[r.Version] = r
	}
	return m
}
