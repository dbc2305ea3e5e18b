// Package pgtest gives tests real Postgres databases: one throwaway cluster per test binary
// (started on first use through devdb), or the server named by SCHEMAHOOK_TEST_DATABASE_URL,
// and a fresh database per test on it.
package pgtest

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/schemahook/schemahook/devdb"
)

// EnvURL names a server to use instead of starting one: a URL of a role that may create
// databases (its database is only used to connect).
const EnvURL = "SCHEMAHOOK_TEST_DATABASE_URL"

var (
	mu      sync.Mutex
	server  *devdb.Server
	admin   string
	started bool
	initErr error
)

// Main runs the tests and stops the cluster afterwards. Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the cluster if this binary started one. Main calls it.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if server != nil {
		server.Stop()
		server = nil
	}
}

// AdminURL is a URL of the test server's `postgres` database, as a superuser: for tests that
// create databases themselves (e.g. a dev server for the hook).
func AdminURL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		if u := os.Getenv(EnvURL); u != "" {
			admin = u
		} else {
			// The server outlives any one test, so it gets no test's context.
			server, initErr = devdb.Start(context.Background(), devdb.Options{})
			if initErr == nil {
				admin = server.URL("postgres")
			}
		}
	}
	if initErr != nil {
		t.Fatalf("pgtest: starting Postgres: %v", initErr)
	}
	return admin
}

// BinDir is the directory of the Postgres server binaries the test server runs.
func BinDir(t testing.TB) string {
	AdminURL(t)
	if server != nil {
		return server.BinDir()
	}
	b, err := devdb.FindServer(0)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return b.Dir
}

// ClientDir is a directory of pg_dump and psql that can dump the test server.
func ClientDir(t testing.TB) string {
	AdminURL(t)
	var near []string
	major := 0
	if server != nil {
		near, major = []string{server.BinDir()}, server.Major()
	}
	b, err := devdb.FindClient(major, near...)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return b.Dir
}

// URL creates a fresh, empty database for this test and returns its URL; it is dropped
// when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	a := AdminURL(t)
	db, err := devdb.CreateTempDB(context.Background(), a, "test")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Drop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return db.URL
}
