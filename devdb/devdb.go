// Package devdb gives throwaway Postgres databases for validating migrations before they
// reach a target: an ephemeral server (initdb + postgres in a temp dir, unix socket only) or
// a uniquely named temporary database on an external dev server.
package devdb

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schemahook/schemahook/internal/proc"
)

// Superuser is the role initdb creates in an ephemeral server.
const Superuser = "postgres"

// Options tune Start. The zero value starts a server of any major version found, under
// $TMPDIR, reachable only through its unix socket.
type Options struct {
	Major  int    // wanted major version (e.g. 15), else the nearest newer (see FindServer); 0: the first found
	Dir    string // parent of the server's temp dir; "" means os.TempDir()
	Port   int    // >0 also listens on 127.0.0.1:Port (tests and demos); 0 means no TCP
	BinDir string // use these binaries; "" searches (see FindServer)
	// Template is a data directory made by InitTemplate with binaries of the same major,
	// copied instead of running initdb (most of a start). "" uses TemplateDir of the
	// binaries when it holds one; a template that cannot be copied falls back to initdb.
	Template string
}

// TemplateDir is where the image keeps, for the server binaries in binDir, the data
// directory InitTemplate made at build time: beside bin/.
func TemplateDir(binDir string) string {
	return filepath.Join(filepath.Dir(binDir), "schemahook-pgdata")
}

// Server is a running ephemeral Postgres. Stop it to remove everything it wrote.
type Server struct {
	bin    Bin
	base   string // temp dir holding data/ and the socket
	port   int
	tcp    bool
	cmd    *exec.Cmd
	stderr *proc.Tail
	exited chan struct{}
	once   sync.Once
	stop   func() bool // unregisters the context watcher
}

// ParseMajor extracts the major version from `postgres --version` output or a
// server_version string ("15.14 (Debian 15.14-0+deb12u1)", "16beta1").
func ParseMajor(s string) (int, error) {
	s = strings.TrimSpace(s)
	if _, after, ok := strings.Cut(s, "(PostgreSQL)"); ok {
		s = strings.TrimSpace(after)
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil || n == 0 {
		return 0, fmt.Errorf("cannot read a Postgres major version from %q", s)
	}
	return n, nil
}

// checkReachable makes sure a non-root uid can walk down to dir, so the error is ours and
// clear rather than initdb's "permission denied".
func checkReachable(dir string, uid uint32) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		sys, _ := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm()&0o001 == 0 && (sys == nil || sys.Uid != uid) {
			return fmt.Errorf("the dev server runs as uid %d (initdb refuses root) and cannot enter %s (mode %v): choose a directory under a world-searchable parent, e.g. /tmp", uid, p, st.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// Start runs initdb and postgres in a new temp dir and waits until the server accepts
// connections. Cancelling ctx stops the server and removes the dir.
func Start(ctx context.Context, opts Options) (*Server, error) {
	var bin Bin
	if opts.BinDir != "" {
		major, err := progMajor(opts.BinDir, "postgres")
		if err != nil {
			return nil, fmt.Errorf("dev server binaries in %s: %w", opts.BinDir, err)
		}
		bin = Bin{Dir: opts.BinDir, Major: major}
	} else {
		var err error
		if bin, err = FindServer(opts.Major); err != nil {
			return nil, err
		}
	}
	cred, err := proc.Unprivileged()
	if err != nil {
		return nil, err
	}
	parent := opts.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("dev server dir: %w", err)
	}
	base, err := os.MkdirTemp(parent, "schemahook-pg-")
	if err != nil {
		return nil, fmt.Errorf("dev server dir: %w", err)
	}
	base, _ = filepath.Abs(base)
	s := &Server{bin: bin, base: base, port: 5432, exited: make(chan struct{}), stderr: proc.NewTail(16 << 10)}
	if opts.Port > 0 {
		s.port, s.tcp = opts.Port, true
	}
	// The socket path must fit in sun_path (107 bytes).
	if sock := filepath.Join(base, fmt.Sprintf(".s.PGSQL.%d", s.port)); len(sock) > 100 {
		os.RemoveAll(base)
		return nil, fmt.Errorf("dev server dir %s is too long for a unix socket path (%d bytes, max 100): set TMPDIR to a shorter path", base, len(sock))
	}
	if cred != nil {
		if err := checkReachable(base, cred.Uid); err != nil {
			os.RemoveAll(base)
			return nil, err
		}
		if err := os.Chown(base, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(base)
			return nil, fmt.Errorf("dev server dir: %w", err)
		}
	}
	data := filepath.Join(base, "data")
	template := opts.Template
	if template == "" {
		template = TemplateDir(bin.Dir)
	}
	if !copyTemplate(template, data, bin.Major, cred) {
		if err := initdb(ctx, bin, data, base, cred); err != nil {
			os.RemoveAll(base)
			return nil, err
		}
	}
	listen := ""
	if s.tcp {
		listen = "127.0.0.1"
	}
	args := []string{"-D", data, "-k", base, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=" + listen,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "shared_buffers=16MB", "-c", "dynamic_shared_memory_type=mmap", "-c", "huge_pages=off",
		"-c", "max_connections=50", "-c", "max_wal_size=256MB", "-c", "logging_collector=off",
		"-c", "log_min_messages=warning", "-c", "autovacuum=off"}
	cmd := exec.Command(filepath.Join(bin.Dir, "postgres"), args...)
	// Pdeathsig: if this process dies (even SIGKILL), the server goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stderr = s.stderr
	cmd.Dir = base
	if err := proc.StartLocked(cmd, s.exited); err != nil {
		os.RemoveAll(base)
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	s.cmd = cmd
	s.stop = context.AfterFunc(ctx, func() { s.Stop() })
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// initdb makes the data directory with the flags every dev server's has.
func initdb(ctx context.Context, bin Bin, data, workDir string, cred *syscall.Credential) error {
	cmd := exec.CommandContext(ctx, filepath.Join(bin.Dir, "initdb"), "-D", data, "-U", Superuser,
		"--auth=trust", "--no-locale", "--encoding=UTF8", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Dir = workDir
	var out []byte
	var err error
	onLockedThread(func() { out, err = cmd.CombinedOutput() })
	if err != nil {
		return fmt.Errorf("initdb (%s) failed: %w: %s", bin.Dir, err, lastLines(out, 10))
	}
	return nil
}

// InitTemplate makes dir (new or empty) the data directory Start copies for the server
// binaries in binDir (see Options.Template, TemplateDir): initdb with Start's flags, at
// image build time, so no Job pays for it.
func InitTemplate(ctx context.Context, binDir, dir string) error {
	major, err := progMajor(binDir, "postgres")
	if err != nil {
		return fmt.Errorf("server binaries in %s: %w", binDir, err)
	}
	cred, err := proc.Unprivileged()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if cred != nil {
		if err := checkReachable(dir, cred.Uid); err != nil {
			return err
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	return initdb(ctx, Bin{Dir: binDir, Major: major}, dir, dir, cred)
}

// copyTemplate copies a template data directory of the same major into data (owned by
// cred's user, when given), and reports whether it did. Anything amiss (no template,
// another major, a copy that fails) leaves no data behind and says false: initdb then.
func copyTemplate(template, data string, major int, cred *syscall.Credential) bool {
	v, err := os.ReadFile(filepath.Join(template, "PG_VERSION"))
	if err != nil || strings.TrimSpace(string(v)) != strconv.Itoa(major) {
		return false
	}
	err = os.CopyFS(data, os.DirFS(template))
	if err == nil {
		err = os.Chmod(data, 0o700) // Postgres refuses a data directory others may read
	}
	if err == nil && cred != nil {
		err = filepath.WalkDir(data, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, int(cred.Uid), int(cred.Gid))
		})
	}
	if err != nil {
		os.RemoveAll(data)
		return false
	}
	return true
}

// waitReady polls until a connection succeeds, the server exits, or the time is up.
func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := pgx.Connect(cctx, s.URL("postgres"))
		cancel()
		if err == nil {
			c.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited during startup: %s", lastLines(s.stderr.Bytes(), 10))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %v: %s", limit, lastLines(s.stderr.Bytes(), 10))
		}
	}
}

// URL is a connection URL for database db (socket, or TCP when a port was asked for).
func (s *Server) URL(db string) string {
	if s.tcp {
		return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.port, url.PathEscape(db))
	}
	q := url.Values{"host": {s.base}, "port": {strconv.Itoa(s.port)}, "sslmode": {"disable"}}
	return fmt.Sprintf("postgres://%s@/%s?%s", Superuser, url.PathEscape(db), q.Encode())
}

// BinDir is the directory of the server's binaries (pg_dump and psql may live there too).
func (s *Server) BinDir() string { return s.bin.Dir }

// Major is the server's major version: Options.Major, or the newer one found instead.
func (s *Server) Major() int { return s.bin.Major }

// Dir is the server's temp dir (data and socket).
func (s *Server) Dir() string { return s.base }

// Stderr returns the last lines the server wrote to stderr, for error messages.
func (s *Server) Stderr() string { return string(s.stderr.Bytes()) }

// Stop shuts the server down (fast shutdown, then immediate) and removes its dir. It is
// safe to call more than once.
func (s *Server) Stop() error {
	var err error
	s.once.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown: abort sessions, clean exit
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				s.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-s.exited:
				case <-time.After(5 * time.Second):
					s.cmd.Process.Kill()
					<-s.exited
				}
			}
		}
		err = os.RemoveAll(s.base)
	})
	return err
}

// Pdeathsig fires when the forking OS thread ends, not the process, and Go may end threads.
// So children are started and waited for on one locked thread that lives as long as they do.

// onLockedThread runs f on a goroutine locked to its thread and waits for it.
func onLockedThread(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		f()
		close(done)
	}()
	<-done
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
