// Package postgres runs a throwaway local Postgres server for the e2e stories: the "target"
// database a hook Job migrates. It runs as the postgres user because initdb refuses root.
package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running Postgres with trust authentication on a loopback port.
type Server struct {
	Port   int
	bin    string
	dir    string
	cmd    *exec.Cmd
	done   chan struct{}
	logBuf *bytes.Buffer
}

// BinDir finds the Postgres server binaries: $SCHEMAHOOK_PG_BIN, else Debian's version 15.
func BinDir() (string, error) {
	for _, dir := range []string{os.Getenv("SCHEMAHOOK_PG_BIN"), "/usr/lib/postgresql/15/bin"} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("postgres binaries not found: set SCHEMAHOOK_PG_BIN")
}

// Start initialises a cluster under a new directory in parent and starts the server.
func Start(ctx context.Context, parent, binDir string) (_ *Server, err error) {
	cred, uid, gid, err := postgresUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "pg-")
	if err != nil {
		return nil, fmt.Errorf("postgres dir: %w", err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("postgres dir: %w", err)
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Port: port, bin: binDir, dir: dir, done: make(chan struct{}), logBuf: &bytes.Buffer{}}
	s.cmd = exec.Command(filepath.Join(binDir, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "shared_buffers=16MB", "-c", "max_connections=40")
	s.cmd.Dir = dir
	s.cmd.Stdout = s.logBuf
	s.cmd.Stderr = s.logBuf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("postgres exited: %s", s.logBuf.String())
		default:
		}
		if _, err := s.Psql(ctx, "postgres", "select 1"); err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("postgres not ready after 30s: %s", s.logBuf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL is a connection URL for database db (no password: trust authentication, loopback only).
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDatabase creates an empty database.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	if _, err := s.Psql(ctx, "postgres", "create database "+quoteIdent(name)); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Psql runs one query with psql in unaligned, tuples-only mode and returns its output.
func (s *Server) Psql(ctx context.Context, db, query string) (string, error) {
	cmd := exec.CommandContext(ctx, psqlPath(s.bin), "-X", "-q", "-A", "-t",
		"-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", "postgres",
		"-d", db, "-c", query)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql %q: %w: %s", query, err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Stop shuts the server down fast and removes its files.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	_ = os.RemoveAll(s.dir)
}

// psqlPath is the server's own psql, else the one on PATH: the relocatable server builds
// (scripts/postgres) carry no client tools, and any recent psql talks to every major.
func psqlPath(bin string) string {
	if st, err := os.Stat(filepath.Join(bin, "psql")); err == nil && !st.IsDir() {
		return filepath.Join(bin, "psql")
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p
	}
	return filepath.Join(bin, "psql")
}

func postgresUser() (*syscall.Credential, int, int, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("postgres user (initdb refuses root): %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("postgres gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
