package engine

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConnectErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := l.Addr().String()
	l.Close()
	missingDB := devdb.WithDatabase(pgtest.AdminURL(t), "no_such_db_xyz")
	for _, tc := range []struct {
		name     string
		url      string
		timeout  time.Duration
		code     failure.ExitCode
		contains string
		logs     bool
	}{
		{"bad url", "postgres://app:sup3rsecret@db:notaport/x", time.Minute, failure.ExitUsage, "invalid database URL", false},
		{"missing database fails at once", missingDB, time.Hour, failure.ExitConnect, "cannot connect to", false},
		{"unreachable retries until the timeout", "postgres://app:sup3rsecret@" + closedPort + "/x?sslmode=disable", 300 * time.Millisecond, failure.ExitConnect, "could not connect to", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs []string
			_, err := Connect(context.Background(), tc.url, ConnectOptions{Timeout: tc.timeout, Log: func(s string) { logs = append(logs, s) }})
			var e *failure.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, tc.code, e.Exit)
			assert.Contains(t, e.Error(), tc.contains)
			assert.NotContains(t, e.Error(), "sup3rsecret")
			assert.Equal(t, tc.logs, len(logs) > 0, "retry log lines: %q", logs)
			for _, l := range logs {
				assert.NotContains(t, l, "sup3rsecret")
			}
		})
	}
}

func TestLockWaitsAndNamesHolder(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	first := connect(t, url)
	require.NoError(t, Lock(ctx, first, "schemahook", time.Second, nil))
	var firstPID int
	require.NoError(t, first.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&firstPID))

	second, err := Connect(ctx, url, ConnectOptions{AppName: "schemahook second"})
	require.NoError(t, err)
	defer second.Close(ctx)
	var logs []string
	err = Lock(ctx, second, "schemahook", 300*time.Millisecond, func(s string) { logs = append(logs, s) })
	var e *failure.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, failure.ExitConnect, e.Exit)
	assert.Contains(t, e.Error(), "pid "+itoa(firstPID))
	require.NotEmpty(t, logs)
	assert.Contains(t, logs[0], "held by pid "+itoa(firstPID))

	// Another revisions schema is another lock.
	require.NoError(t, Lock(ctx, second, "other", time.Second, nil))
	require.NoError(t, Unlock(ctx, first, "schemahook"))
	require.NoError(t, Lock(ctx, second, "schemahook", time.Second, nil))
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestConnectWaitsForServer: a server that is down when the run starts is waited for,
// and the connection succeeds once it is up.
func TestConnectWaitsForServer(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.NewServer(t, devdb.Options{})
	srv.Halt()
	retrying := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		conn, err := Connect(ctx, srv.URL("postgres"), ConnectOptions{Timeout: 5 * time.Minute,
			Log: func(string) { once.Do(func() { close(retrying) }) }})
		if err == nil {
			conn.Close(ctx)
		}
		done <- err
	}()
	<-retrying // the first attempt failed and Connect said it is waiting
	require.NoError(t, srv.Resume(ctx))
	require.NoError(t, <-done)
}
