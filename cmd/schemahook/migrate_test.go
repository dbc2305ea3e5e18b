package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	pgtest.Stop()
	os.Exit(code)
}

// binary builds the real schemahook binary once, for tests that run it as a process.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "schemahook-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "schemahook")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// proc is a running schemahook process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

func start(t testing.TB, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary(t), args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.Env = append(os.Environ(), "DATABASE_URL=", "SCHEMAHOOK_DEV_URL=")
	require.NoError(t, p.cmd.Start())
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("schemahook did not finish: %s", p.stderr.String())
	}
	return p.code
}

type summary struct {
	Status  string `json:"status"`
	Applied []struct {
		Version string `json:"version"`
	} `json:"applied"`
	Error *struct {
		Stage, File, Rule, Message string
		Line                       int
	} `json:"error"`
}

func (p *proc) summary(t testing.TB) summary {
	t.Helper()
	var s summary
	require.NoError(t, json.Unmarshal(p.stdout.Bytes(), &s), "stdout: %s\nstderr: %s", p.stdout.String(), p.stderr.String())
	return s
}

var (
	writeDir   = testfs.WriteDir
	dbQueryInt = pgtest.QueryInt
	dbExec     = pgtest.Exec
)

func dbName(t testing.TB, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	return cfg.Database
}

// logged migrations each insert their version into a log table, so "applied exactly once"
// is counted by the database itself.
func logged(n int) map[string]string {
	files := map[string]string{"001_log.sql": "CREATE TABLE run_log (version text NOT NULL);\nINSERT INTO run_log VALUES ('001');\n"}
	for i := 2; i <= n; i++ {
		files[fmt.Sprintf("%03d_t%d.sql", i, i)] = fmt.Sprintf("CREATE TABLE t%d (id int);\nINSERT INTO run_log VALUES ('%03d');\n", i, i)
	}
	return files
}

// TestConcurrentRunners: eight runners started at once on one target; every file is
// applied exactly once, and every runner exits 0.
func TestConcurrentRunners(t *testing.T) {
	url := pgtest.URL(t)
	dir := writeDir(t, logged(6))
	var ps []*proc
	for i := 0; i < 8; i++ {
		ps = append(ps, start(t, "migrate", "apply", "--dir", dir, "--url", url, "--dev-url", pgtest.AdminURL(t),
			"--lock-timeout", "5m", "--output", "json", "--lint", "warn", "--app", fmt.Sprintf("runner-%d", i)))
	}
	applied := 0
	for i, p := range ps {
		require.Equal(t, 0, p.wait(t), "runner %d: %s", i, p.stderr.String())
		s := p.summary(t)
		applied += len(s.Applied)
		assert.Contains(t, []string{"applied", "up-to-date"}, s.Status)
	}
	assert.Equal(t, 6, applied, "files applied over all runners")
	assert.Equal(t, 6, dbQueryInt(t, url, "SELECT count(*) FROM run_log"))
	assert.Equal(t, 6, dbQueryInt(t, url, "SELECT count(DISTINCT version) FROM run_log"))
	assert.Equal(t, 6, dbQueryInt(t, url, "SELECT count(*) FROM schemahook.revisions WHERE status = 'applied'"))
}

// sleeper is a transactional migration that sleeps on the target while role gate exists,
// and passes at once when it does not (the rerun, and the dev databases).
func sleeper(target, gate string) string {
	return fmt.Sprintf("CREATE TABLE slow (id int);\nINSERT INTO slow VALUES (1);\n"+
		"SELECT pg_sleep(3600) WHERE current_database() = '%s' AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s');\n", target, gate)
}

// waitSleeping synchronises with the database: it returns once the runner's statement is
// seen sleeping in pg_stat_activity.
func waitSleeping(t testing.TB, url string, p *proc) {
	t.Helper()
	for {
		if dbQueryInt(t, url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()") > 0 {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("runner exited (%d) before sleeping: %s", p.code, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitNoSession waits until no session but ours is left on the database (a killed
// client's backend notices and rolls back).
func waitNoSession(t testing.TB, url string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return dbQueryInt(t, url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()") == 0
	}, 2*time.Minute, 50*time.Millisecond)
}

func gateRole(t testing.TB, url string) string {
	gate := fmt.Sprintf("gate_%d", time.Now().UnixNano())
	dbExec(t, url, "CREATE ROLE "+gate)
	t.Cleanup(func() { dbExec(t, url, "DROP ROLE IF EXISTS "+gate) })
	return gate
}

// TestKilledRunnerLeavesNoTrace: SIGKILL in the middle of a long transactional migration
// leaves nothing of it, and the next run applies it.
func TestKilledRunnerLeavesNoTrace(t *testing.T) {
	url := pgtest.URL(t)
	gate := gateRole(t, url)
	dir := writeDir(t, map[string]string{"001_a.sql": "CREATE TABLE a (id int);\n", "002_slow.sql": sleeper(dbName(t, url), gate)})
	args := []string{"migrate", "apply", "--dir", dir, "--url", url, "--dev-url", pgtest.AdminURL(t), "--output", "json", "--lock-timeout", "5m"}
	p := start(t, args...)
	waitSleeping(t, url, p)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	p.wait(t)
	waitNoSession(t, url)
	assert.Equal(t, 0, dbQueryInt(t, url, "SELECT count(*) FROM pg_tables WHERE tablename = 'slow'"), "half-applied migration left a table")
	assert.Equal(t, 0, dbQueryInt(t, url, "SELECT count(*) FROM schemahook.revisions WHERE version = '002'"))
	assert.Equal(t, 1, dbQueryInt(t, url, "SELECT count(*) FROM schemahook.revisions WHERE version = '001'"))

	dbExec(t, url, "DROP ROLE "+gate)
	p = start(t, args...)
	require.Equal(t, 0, p.wait(t), p.stderr.String())
	assert.Equal(t, []string{"002"}, versions(p.summary(t)))
	assert.Equal(t, 1, dbQueryInt(t, url, "SELECT count(*) FROM slow"))
}

// TestSIGTERMCancelsCleanly: SIGTERM (Job deadline, pod deleted) cancels the running
// statement, rolls the file back, records the failure and exits 5.
func TestSIGTERMCancelsCleanly(t *testing.T) {
	url := pgtest.URL(t)
	gate := gateRole(t, url)
	dir := writeDir(t, map[string]string{"001_a.sql": "CREATE TABLE a (id int);\n", "002_slow.sql": sleeper(dbName(t, url), gate)})
	tl := filepath.Join(t.TempDir(), "termination-log")
	p := start(t, "migrate", "apply", "--dir", dir, "--url", url, "--dev-url", "none", "--output", "json", "--termination-log", tl)
	waitSleeping(t, url, p)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 5, p.wait(t), p.stderr.String())
	s := p.summary(t)
	require.NotNil(t, s.Error)
	assert.Equal(t, "interrupted", s.Error.Rule)
	assert.Equal(t, "apply", s.Error.Stage)
	assert.Equal(t, filepath.Join(dir, "002_slow.sql"), s.Error.File)
	assert.Equal(t, []string{"001"}, versions(s))
	msg, err := os.ReadFile(tl)
	require.NoError(t, err)
	assert.Contains(t, string(msg), "interrupted")
	assert.Equal(t, 0, dbQueryInt(t, url, "SELECT count(*) FROM pg_tables WHERE tablename = 'slow'"))
	assert.Equal(t, 0, dbQueryInt(t, url, "SELECT count(*) FROM schemahook.revisions WHERE version = '002'"))
}

// TestServerRestartMidRun: the target restarts while a migration runs; the runner says so
// clearly (exit 5), nothing of the file remains, and a rerun applies it.
func TestServerRestartMidRun(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.NewServer(t, devdb.Options{})
	db, err := devdb.CreateTempDB(ctx, srv.URL("postgres"), "target")
	require.NoError(t, err)
	url := db.URL
	gate := fmt.Sprintf("gate_%d", time.Now().UnixNano())
	dbExec(t, url, "CREATE ROLE "+gate)
	dir := writeDir(t, map[string]string{"001_a.sql": "CREATE TABLE a (id int);\n", "002_slow.sql": sleeper(db.Name, gate)})
	args := []string{"migrate", "apply", "--dir", dir, "--url", url, "--dev-url", "none", "--output", "json"}
	p := start(t, args...)
	waitSleeping(t, url, p)
	require.NoError(t, srv.Restart(ctx))
	require.Equal(t, 5, p.wait(t), p.stderr.String())
	s := p.summary(t)
	require.NotNil(t, s.Error)
	assert.Equal(t, "connection-lost", s.Error.Rule)
	assert.Contains(t, s.Error.Message, "lost the connection")
	assert.Equal(t, 0, dbQueryInt(t, url, "SELECT count(*) FROM pg_tables WHERE tablename = 'slow'"))

	dbExec(t, url, "DROP ROLE "+gate)
	p = start(t, args...)
	require.Equal(t, 0, p.wait(t), p.stderr.String())
	assert.Equal(t, []string{"002"}, versions(p.summary(t)))
}

func versions(s summary) []string {
	var out []string
	for _, a := range s.Applied {
		out = append(out, a.Version)
	}
	return out
}

// TestMigrateUsageExitCodes checks the process exit code for usage errors.
func TestMigrateUsageExitCodes(t *testing.T) {
	dir := writeDir(t, map[string]string{"001_a.sql": "SELECT 1;\n"})
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"migrate", "apply", "--dir", dir}, 1, "no target database"},
		{[]string{"migrate", "apply", "--nope"}, 1, "unknown flag"},
		{[]string{"migrate", "apply", "--dir", dir, "--url", "postgres://u:topsecret@127.0.0.1:1/x", "--lock-retries", "-1"}, 1, "must not be negative"},
		{[]string{"migrate", "status", "--dir", dir, "--url", "postgres://u:topsecret@127.0.0.1:1/x", "--connect-timeout", "100ms"}, 6, "could not connect"},
	} {
		p := start(t, tc.args...)
		assert.Equal(t, tc.code, p.wait(t), "%v: %s", tc.args, p.stderr.String())
		assert.Contains(t, p.stderr.String(), tc.msg)
		assert.NotContains(t, p.stderr.String()+p.stdout.String(), "topsecret")
	}
}

// TestDevdbCommand: the hidden devdb command prints a working URL first, and SIGTERM stops
// the server and removes its directory.
func TestDevdbCommand(t *testing.T) {
	parent, err := os.MkdirTemp("", "devdb-cmd-")
	require.NoError(t, err)
	defer os.RemoveAll(parent)
	require.NoError(t, os.Chmod(parent, 0o755)) // the server runs as a non-root uid under root
	cmd := exec.Command(binary(t), "devdb", "--dir", parent)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, stderr.String())
	url := strings.TrimSpace(line)
	assert.Equal(t, 1, dbQueryInt(t, url, "SELECT 1"))
	entries, _ := os.ReadDir(parent)
	require.Len(t, entries, 1)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), stderr.String())
	entries, _ = os.ReadDir(parent)
	assert.Empty(t, entries, "devdb left its directory behind")
}

// TestSIGTERMDuringDevReplayDropsDevDatabases: a run stopped while replaying on a dev
// server drops its temporary databases and leaves the target untouched.
func TestSIGTERMDuringDevReplayDropsDevDatabases(t *testing.T) {
	url, admin := pgtest.URL(t), pgtest.AdminURL(t)
	gate := gateRole(t, url)
	dir := writeDir(t, map[string]string{
		"001_a.sql":    "CREATE TABLE a (id int);\n",
		"002_slow.sql": fmt.Sprintf("SELECT pg_sleep(3600) WHERE current_database() LIKE 'schemahook_dev%%' AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s');\n", gate),
	})
	p := start(t, "migrate", "apply", "--dir", dir, "--url", url, "--dev-url", admin, "--output", "json")
	for dbQueryInt(t, admin, "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'schemahook_dev%' AND query LIKE '%pg_sleep(3600)%'") == 0 {
		select {
		case <-p.done:
			t.Fatalf("runner exited (%d) before sleeping: %s", p.code, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 2, p.wait(t), p.stderr.String())
	assert.Equal(t, "dev", p.summary(t).Error.Stage)
	assert.Equal(t, 0, dbQueryInt(t, admin, "SELECT count(*) FROM pg_database WHERE datname LIKE 'schemahook_dev%' OR datname LIKE 'schemahook_copy%'"), "dev databases left behind")
	assert.Equal(t, 0, dbQueryInt(t, url, "SELECT count(*) FROM pg_tables WHERE tablename = 'a'"))
}

// TestHelpPrintsNoURL: the flag defaults come from the environment at run time, so --help
// cannot print a database password.
func TestHelpPrintsNoURL(t *testing.T) {
	q := exec.Command(binary(t), "migrate", "apply", "--help")
	q.Env = append(os.Environ(), "DATABASE_URL=postgres://app:hunter2secret@db/x", "SCHEMAHOOK_DEV_URL=postgres://dev:devsecret9@db/x")
	out, err := q.CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), "--url")
	assert.NotContains(t, string(out), "hunter2secret")
	assert.NotContains(t, string(out), "devsecret9")
}
