package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/internal/proc"
)

// Server is a throwaway Postgres of one test's own, started by devdb.Start, that the test may
// stop and start again under a client (Halt, Resume, Restart). Production never restarts a
// dev server, so devdb.Server has no such methods; they work through the files Postgres keeps
// in its data directory, as pg_ctl does: postmaster.pid (the running server) and
// postmaster.opts (the command line it was started with).
type Server struct {
	*devdb.Server
	t      testing.TB
	cmd    *exec.Cmd     // the postmaster Resume started; nil while devdb's runs
	exited chan struct{} // closed when cmd ends
}

// NewServer starts a server like devdb.Start does with opts and stops it when the test ends.
func NewServer(t testing.TB, opts devdb.Options) *Server {
	t.Helper()
	srv, err := devdb.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("pgtest: starting Postgres: %v", err)
	}
	s := &Server{Server: srv, t: t}
	t.Cleanup(func() {
		if s.cmd != nil {
			s.Halt()
		}
		s.Server.Stop()
	})
	return s
}

// StartServer starts a throwaway Postgres from the server binaries bin (initdb, then
// postgres on a unix socket, as a non-root user when run as root) and stops it when the test
// ends. It fails the test when the binaries are not of bin.Major.
func StartServer(t testing.TB, bin devdb.Bin) *Server {
	t.Helper()
	s := NewServer(t, devdb.Options{BinDir: bin.Dir})
	if s.Major() != bin.Major {
		t.Fatalf("pgtest: %s runs Postgres %d, listed as %d in %s", bin.Dir, s.Major(), bin.Major, EnvMajors)
	}
	return s
}

// dataFile is a file of the server's data directory (devdb keeps it in Dir()/data).
func (s *Server) dataFile(name string) string { return filepath.Join(s.Dir(), "data", name) }

// Pid is the running postmaster's process id, from postmaster.pid.
func (s *Server) Pid() int {
	s.t.Helper()
	b, err := os.ReadFile(s.dataFile("postmaster.pid"))
	if err != nil {
		s.t.Fatalf("pgtest: the server is not running: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		s.t.Fatalf("pgtest: postmaster.pid: %v", err)
	}
	return pid
}

// Halt stops the server with a fast shutdown, keeping its data, and waits until it is gone:
// for tests of clients facing a server that is down. Resume starts it again.
func (s *Server) Halt() {
	s.t.Helper()
	pid := s.Pid()
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		s.t.Fatalf("pgtest: stopping postmaster %d: %v", pid, err)
	}
	if s.cmd != nil {
		<-s.exited
		s.cmd = nil
		return
	}
	// devdb's postmaster: devdb waits for it; a clean shutdown removes postmaster.pid last.
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := os.Stat(s.dataFile("postmaster.pid"))
		if errors.Is(err, os.ErrNotExist) && syscall.Kill(pid, 0) != nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("pgtest: postmaster %d did not stop within a minute", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Resume starts a halted server again with the command line it last ran (postmaster.opts),
// as the same user, and waits until it accepts connections.
func (s *Server) Resume(ctx context.Context) error {
	b, err := os.ReadFile(s.dataFile("postmaster.opts"))
	if err != nil {
		return fmt.Errorf("restarting postgres: %w", err)
	}
	args := parseOpts(string(b))
	cred, err := proc.Unprivileged()
	if err != nil {
		return err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Dir = s.Dir()
	exited := make(chan struct{})
	if err := proc.StartLocked(cmd, exited); err != nil {
		return fmt.Errorf("restarting postgres: %w", err)
	}
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := pgx.Connect(cctx, s.URL("postgres"))
		cancel()
		if err == nil {
			return c.Close(ctx)
		}
		select {
		case <-exited:
			return fmt.Errorf("restarted postgres exited: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("restarted postgres did not accept connections within a minute: %w", err)
		}
	}
}

// Restart halts the server and starts it again, for tests that prove a client survives a
// server restart.
func (s *Server) Restart(ctx context.Context) error {
	s.Halt()
	return s.Resume(ctx)
}

// parseOpts reads postmaster.opts: the program, then each argument in double quotes
// (`/usr/lib/postgresql/15/bin/postgres "-D" "/tmp/x/data" "-c" "fsync=off"`).
func parseOpts(s string) []string {
	prog, rest, ok := strings.Cut(strings.TrimSpace(s), ` "`)
	args := []string{prog}
	if !ok {
		return args
	}
	return append(args, strings.Split(strings.TrimSuffix(rest, `"`), `" "`)...)
}
