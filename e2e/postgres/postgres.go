// Package postgres runs a throwaway local Postgres server for the e2e stories: the "target"
// database a hook Job migrates, on a loopback port. Postgres is found and started by the main
// module's devdb, through its internal/pgserve program (this module keeps its dependencies
// apart from the main module's, so it does not import devdb).
package postgres

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a running Postgres with trust authentication on a loopback port.
type Server struct {
	Port   int
	bin    string
	dir    string
	cmd    *exec.Cmd // pgserve, which owns the server
	stdin  io.Closer // closing it stops the server
	done   chan struct{}
	logBuf *bytes.Buffer
}

// BinDir finds the Postgres server binaries as the dev replay does (devdb.FindServer:
// $SCHEMAHOOK_PG_BIN when set).
func BinDir() (string, error) {
	prog, err := pgserve()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(prog, "-find").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("postgres binaries: %s", bytes.TrimSpace(ee.Stderr))
		}
		return "", fmt.Errorf("postgres binaries: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Start initialises a cluster under a new directory in parent and starts the server.
func Start(ctx context.Context, parent, binDir string) (_ *Server, err error) {
	prog, err := pgserve()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Port: port, bin: binDir, done: make(chan struct{}), logBuf: &bytes.Buffer{}}
	s.cmd = exec.Command(prog, "-bin", binDir, "-dir", parent, "-port", strconv.Itoa(port))
	s.cmd.Stderr = s.logBuf
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s.stdin = stdin
	lines := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		s.cmd.Wait()
		close(s.done)
	}()
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	// pgserve prints the server's directory once it accepts connections.
	select {
	case s.dir = <-lines:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("postgres exited: %s", s.logBuf.String())
	case <-ctx.Done():
		return nil, fmt.Errorf("postgres not ready: %w", ctx.Err())
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
	if s.stdin != nil {
		s.stdin.Close()
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
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

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// pgserve builds the main module's internal/pgserve once per test binary and returns its path.
func pgserve() (string, error) {
	buildOnce.Do(func() {
		root, err := mainModule()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "pgserve")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "pgserve")
		cmd := exec.Command("go", "build", "-o", built, "./internal/pgserve")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building pgserve: %w: %s", err, out)
		}
	})
	return built, buildErr
}

// mainModule is the schemahook work tree: the nearest parent of the working directory (a test's
// package directory) whose go.mod is the main module's.
func mainModule() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; d != filepath.Dir(d); d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/schemahook/schemahook\n") {
			return d, nil
		}
	}
	return "", fmt.Errorf("no schemahook main module above %s", wd)
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
