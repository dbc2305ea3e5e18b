package postgres

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A server starts as the postgres user, serves a new database over loopback TCP, and is
// gone, files and all, after Stop.
func TestServerLifecycle(t *testing.T) {
	bin, err := BinDir()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, "", bin) // under $TMPDIR
	require.NoError(t, err)
	require.NoError(t, s.CreateDatabase(ctx, "app"))
	out, err := s.Psql(ctx, "app", "select current_database() || ' ' || current_user")
	require.NoError(t, err)
	assert.Equal(t, "app postgres", out)

	pid := s.cmd.Process.Pid
	s.Stop()
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the server process is gone")
	_, err = os.Stat(s.dir)
	assert.True(t, os.IsNotExist(err), "the data directory is removed")
}
