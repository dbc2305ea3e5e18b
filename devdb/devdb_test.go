package devdb

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMajor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n", 15, true},
		{"postgres (PostgreSQL) 16.2", 16, true},
		{"17beta1", 17, true},
		{"9.6.24", 9, true},
		{"15.4 (Debian 15.4-1.pgdg120+1)", 15, true},
		{"", 0, false},
		{"postgres (PostgreSQL) x", 0, false},
	} {
		got, err := ParseMajor(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:p@h:5432/postgres?sslmode=disable", "postgres://u:p@h:5432/x_1?sslmode=disable"},
		{"postgresql://h/db", "postgresql://h/x_1"},
		{"postgres://u@/postgres?host=%2Ftmp%2Fs&port=5432", "postgres://u@/x_1?host=%2Ftmp%2Fs&port=5432"},
		{"host=h user=u dbname=a", "host=h user=u dbname=a dbname='x_1'"},
	} {
		assert.Equal(t, tc.want, WithDatabase(tc.in, "x_1"), tc.in)
	}
}

// TestStart proves the server is a throwaway one as the hook pod needs it: no TCP listener,
// no fsync, mmap shared memory, not running as root, and gone without a trace after Stop.
func TestStart(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{})
	require.NoError(t, err)
	defer s.Stop()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	require.NoError(t, err)
	for setting, want := range map[string]string{
		"listen_addresses":           "",
		"fsync":                      "off",
		"full_page_writes":           "off",
		"synchronous_commit":         "off",
		"dynamic_shared_memory_type": "mmap",
		"shared_buffers":             "16MB",
	} {
		var got string
		require.NoError(t, conn.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&got))
		assert.Equal(t, want, got, setting)
	}
	conn.Close(ctx)
	pid := postmasterPid(t, s)
	st, err := os.Stat("/proc/" + itoa(pid))
	require.NoError(t, err)
	if os.Geteuid() == 0 {
		assert.NotEqual(t, uint32(0), statUID(st), "postgres must not run as root")
	}
	dir := s.Dir()
	require.NoError(t, s.Stop())
	assert.NoDirExists(t, dir)
	_, err = os.Stat("/proc/" + itoa(pid))
	assert.True(t, os.IsNotExist(err), "server process still exists after Stop")
	require.NoError(t, s.Stop(), "second Stop is a no-op")
}

func TestStartPortAndCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Options{Port: port})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(s.URL("postgres"), "postgres://postgres@127.0.0.1:"))
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	require.NoError(t, err)
	conn.Close(ctx)
	dir := s.Dir()
	cancel() // what SIGTERM does to a run
	require.Eventually(t, func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) }, time.Minute, 20*time.Millisecond)
}

func TestStartErrors(t *testing.T) {
	_, err := Start(context.Background(), Options{Major: 99})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "major version 99 (the target's) or newer")

	long := t.TempDir() + "/" + strings.Repeat("d", 90)
	_, err = Start(context.Background(), Options{Dir: long})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "too long for a unix socket")
}

func TestTempDB(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{})
	require.NoError(t, err)
	defer s.Stop()
	admin := s.URL("postgres")
	a, err := CreateTempDB(ctx, admin, "dev")
	require.NoError(t, err)
	b, err := CreateTempDB(ctx, admin, "dev")
	require.NoError(t, err)
	assert.NotEqual(t, a.Name, b.Name)
	conn, err := pgx.Connect(ctx, a.URL)
	require.NoError(t, err)
	var db string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_database()").Scan(&db))
	assert.Equal(t, a.Name, db)
	// Drop works even with a session still connected (a killed run's leftovers).
	require.NoError(t, a.Drop())
	require.NoError(t, b.Drop())
	ac, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	defer ac.Close(ctx)
	var n int
	require.NoError(t, ac.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", []string{a.Name, b.Name}).Scan(&n))
	assert.Equal(t, 0, n)
}

// TestStartFromTemplate: a server starts from a copy of the template InitTemplate made,
// without initdb; a template of another major, or none, means initdb as before.
func TestStartFromTemplate(t *testing.T) {
	ctx := context.Background()
	bin, err := FindServer(0)
	require.NoError(t, err)
	tpl, err := os.MkdirTemp("", "schemahook-tpl-") // reachable by the server's user, like Start's
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tpl) })
	require.NoError(t, InitTemplate(ctx, bin.Dir, tpl))
	marker := "copied-from-the-template"
	require.NoError(t, os.WriteFile(filepath.Join(tpl, marker), nil, 0o600))
	for _, tc := range []struct {
		name    string
		version string // PG_VERSION of the template
		copied  bool
	}{
		{"same major", strconv.Itoa(bin.Major), true},
		{"another major", "99", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(tpl, "PG_VERSION"), []byte(tc.version+"\n"), 0o600))
			s, err := Start(ctx, Options{BinDir: bin.Dir, Template: tpl})
			require.NoError(t, err)
			defer s.Stop()
			_, err = os.Stat(filepath.Join(s.Dir(), "data", marker))
			assert.Equal(t, tc.copied, err == nil, "copied: %v", err)
			conn, err := pgx.Connect(ctx, s.URL("postgres"))
			require.NoError(t, err)
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "CREATE DATABASE from_template")
			require.NoError(t, err)
		})
	}
}

// BenchmarkStart starts and stops a dev server, with initdb or from a template; cpu-ms
// counts the children (initdb, postgres) too.
func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	bin, err := FindServer(0)
	require.NoError(b, err)
	tpl, err := os.MkdirTemp("", "schemahook-tpl-")
	require.NoError(b, err)
	b.Cleanup(func() { os.RemoveAll(tpl) })
	require.NoError(b, InitTemplate(ctx, bin.Dir, tpl))
	cpu := func() int64 {
		var self, kids syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &self)
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
		return self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano()
	}
	for _, tc := range []struct{ name, template string }{{"initdb", "/nonexistent"}, {"template", tpl}} {
		b.Run(tc.name, func(b *testing.B) {
			start := cpu()
			for b.Loop() {
				s, err := Start(ctx, Options{BinDir: bin.Dir, Template: tc.template})
				require.NoError(b, err)
				require.NoError(b, s.Stop())
			}
			b.ReportMetric(float64(cpu()-start)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}
