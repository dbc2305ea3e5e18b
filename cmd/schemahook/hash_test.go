package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// execCmd runs a freshly built command and returns its stdout, the error text and the exit
// code main would give.
func execCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, string, int) {
	t.Helper()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return out.String(), "", 0
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return out.String(), err.Error(), ec.ExitCode()
	}
	return out.String(), err.Error(), 1
}

func copyFixture(t *testing.T, format string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "migrations")
	require.NoError(t, os.CopyFS(dir, os.DirFS(testfs.FormatDir(t, format))))
	return dir
}

func TestHashCommand(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(t *testing.T, dir string)
		args     []string // after DIR
		wantOut  string   // substring of stdout
		wantErr  string   // substring of the error
		wantCode int
	}{
		{"check passes on the fixture", nil, []string{"--check"}, "schemahook.sum is up to date (5 migrations)", "", 0},
		{"check names changed, added and removed files", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "000002_create_orders.up.sql"), []byte("SELECT 1;\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "000006_more.up.sql"), []byte("SELECT 6;\n"), 0o644))
			require.NoError(t, os.Remove(filepath.Join(dir, "000005_customer_name.down.sql")))
		}, []string{"--check"}, "", "does not match the directory: added 000006_more.up.sql; changed 000002_create_orders.up.sql; removed 000005_customer_name.down.sql", 4},
		{"check without a sum file", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "schemahook.sum")))
		}, []string{"--check"}, "", "no schemahook.sum; review the migrations, then run `schemahook hash", 4},
		{"write then check", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "000006_more.up.sql"), []byte("SELECT 6;\n"), 0o644))
			out, _, code := execCmd(t, newHashCmd(), dir)
			require.Equal(t, 0, code)
			require.Equal(t, "wrote "+filepath.Join(dir, "schemahook.sum")+"\n", out)
		}, []string{"--check"}, "up to date (6 migrations)", "", 0},
		{"bad migration is a configuration error", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "000006_more.up.sql"), []byte("SELEC 6;\n"), 0o644))
		}, nil, "", `000006_more.up.sql:1:1: syntax error at or near "SELEC" [syntax]`, 1},
		{"app directory instead of its migrations", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "schemahook.yaml"), []byte("kind: Database\n"), 0o644))
		}, nil, "", "holds schemahook.yaml: pass its migrations directory", 1},
		{"named format is strict", nil, []string{"--check", "--format", "goose"}, "", "000001_create_customers.up.sql: version 000001 is also the version of 000001_create_customers.down.sql [duplicate-version]", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyFixture(t, "golang-migrate")
			if tt.edit != nil {
				tt.edit(t, dir)
			}
			out, errText, code := execCmd(t, newHashCmd(), append([]string{dir}, tt.args...)...)
			require.Equal(t, tt.wantCode, code, errText)
			require.Contains(t, out, tt.wantOut)
			require.Contains(t, errText, tt.wantErr)
		})
	}
}

func TestHashCommandMissingDir(t *testing.T) {
	_, errText, code := execCmd(t, newHashCmd(), filepath.Join(t.TempDir(), "nope"))
	require.Equal(t, 1, code)
	require.Contains(t, errText, "migration directory:")
}

// TestHashExitCodeThroughRun goes through main's run, as a CI job would.
func TestHashExitCodeThroughRun(t *testing.T) {
	dir := copyFixture(t, "dbmate")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "20240101120000_create_customers.sql"), []byte("-- migrate:up\nSELECT 1;\n"), 0o644))
	require.Equal(t, 4, run([]string{"hash", dir, "--check"}))
}

func TestNewCommand(t *testing.T) {
	tests := []struct {
		name     string
		fixture  string
		arg      string
		wantFile string // suffix of the printed path
		wantErr  string
		wantCode int
	}{
		{"flyway next major", "flyway", "add_email_index", "V11__add_email_index.sql", "", 0},
		{"golang-migrate sequential", "golang-migrate", "add email", "000006_add_email.up.sql", "", 0},
		{"bad name", "goose", "a/b", "", `migration name "a/b"`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyFixture(t, tt.fixture)
			out, errText, code := execCmd(t, newNewCmd(), tt.arg, "--dir", dir)
			require.Equal(t, tt.wantCode, code, errText)
			require.Contains(t, errText, tt.wantErr)
			if tt.wantFile != "" {
				p := strings.TrimSpace(out)
				require.True(t, strings.HasSuffix(p, tt.wantFile), p)
				require.FileExists(t, p)
				// The sum was current, so it now includes the new file.
				_, errText, code := execCmd(t, newHashCmd(), dir, "--check")
				require.Equal(t, 0, code, errText)
			}
		})
	}
}

func TestNewCommandDefaultDir(t *testing.T) {
	t.Chdir(t.TempDir())
	out, errText, code := execCmd(t, newNewCmd(), "init")
	require.Equal(t, 0, code, errText)
	require.Regexp(t, `^migrations/[0-9]{14}_init\.sql\n$`, out)
}
