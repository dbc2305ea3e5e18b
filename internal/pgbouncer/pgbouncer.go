// Package pgbouncer runs, for tests, a real PgBouncer (Debian's `pgbouncer` package) in
// front of a test database, with one database alias per pooling mode, so behaviour behind
// a pooler is proven rather than assumed. scripts/test.sh installs PgBouncer when missing.
package pgbouncer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/internal/proc"
)

// Bouncer is a running PgBouncer. Its URLs reach the same database as the target URL it
// was started for, as the same user.
type Bouncer struct {
	TransactionURL string // pool_mode = transaction
	SessionURL     string // pool_mode = session
}

// Start runs PgBouncer on a free port of 127.0.0.1 in front of the database of targetURL
// and stops it when the test ends. It runs as a non-root user when the test runs as root
// (PgBouncer refuses root), with its config and userlist in a temp dir.
func Start(t testing.TB, targetURL string) *Bouncer {
	t.Helper()
	bin := findBin(t)
	cfg, err := pgx.ParseConfig(targetURL)
	if err != nil {
		t.Fatalf("pgbouncer: %v", err)
	}
	cred, err := proc.Unprivileged()
	if err != nil {
		t.Fatalf("pgbouncer: %v", err)
	}
	dir, err := os.MkdirTemp("", "schemahook-pgbouncer-")
	if err != nil {
		t.Fatalf("pgbouncer: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := pgtest.FreePort(t)

	server := fmt.Sprintf("host=%s port=%d dbname=%s user=%s", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	if cfg.Password != "" {
		server += " password=" + cfg.Password
	}
	ini := fmt.Sprintf(`[databases]
txn = %[1]s pool_mode=transaction
sess = %[1]s pool_mode=session

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %[2]d
unix_socket_dir =
auth_type = trust
auth_file = %[3]s
default_pool_size = 20
max_client_conn = 200
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits
`, server, port, filepath.Join(dir, "userlist.txt"))
	write(t, filepath.Join(dir, "pgbouncer.ini"), ini, cred)
	write(t, filepath.Join(dir, "userlist.txt"), fmt.Sprintf("%q \"\"\n", cfg.User), cred)
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("pgbouncer: %v", err)
		}
	}

	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGTERM}
	log := proc.NewTail(64 << 10) // for failure messages
	cmd.Stdout, cmd.Stderr = log, log
	exited := make(chan struct{})
	if err := proc.StartLocked(cmd, exited); err != nil {
		t.Fatalf("pgbouncer: starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // immediate shutdown
		<-exited
	})

	url := func(db string) string {
		return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", cfg.User, port, db)
	}
	b := &Bouncer{TransactionURL: url("txn"), SessionURL: url("sess")}
	// Ready when a query goes through to the server.
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, b.SessionURL)
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT 1")
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return b
		}
		select {
		case <-exited:
			t.Fatalf("pgbouncer exited: %s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if i > 600 {
			t.Fatalf("pgbouncer did not pass a query through: %v\n%s", err, log.String())
		}
	}
}

func findBin(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("pgbouncer: no pgbouncer binary in PATH or /usr/sbin: install Debian's pgbouncer package (scripts/test.sh does)")
	return ""
}

func write(t testing.TB, path, content string, cred *syscall.Credential) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("pgbouncer: %v", err)
	}
	if cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("pgbouncer: %v", err)
		}
	}
}
