package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgbouncer"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConnectThroughPgBouncer: behind PgBouncer's transaction pooling Connect refuses
// (exit 6) and says where to point DATABASE_URL; behind session pooling it connects, and
// the connection keeps its server session, so the migration lock means what it says.
func TestConnectThroughPgBouncer(t *testing.T) {
	ctx := context.Background()
	b := pgbouncer.Start(t, pgtest.URL(t))

	_, err := Connect(ctx, b.TransactionURL, ConnectOptions{Timeout: time.Hour})
	var e *failure.Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, failure.ExitConnect, e.Exit)
	assert.Equal(t, "pooler", e.Rule)
	assert.Contains(t, e.Error(), "pool_mode = transaction")
	assert.Contains(t, e.Error(), "point DATABASE_URL at the Postgres server directly, or at a pooler database or port with pool_mode = session")

	first := connect(t, b.SessionURL)
	require.NoError(t, Lock(ctx, first, "schemahook", time.Second, nil))
	second := connect(t, b.SessionURL)
	err = Lock(ctx, second, "schemahook", 200*time.Millisecond, nil)
	require.True(t, errors.As(err, &e), "the second session waits for the first's lock: %v", err)
	assert.Equal(t, "lock", e.Rule)
	require.NoError(t, Unlock(ctx, first, "schemahook"))
	require.NoError(t, Lock(ctx, second, "schemahook", time.Second, nil))
}
