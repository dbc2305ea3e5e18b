package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var writeFiles = testfs.WriteFiles

func runLint(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, _, code := execCmd(t, newLintCmd(), args...)
	return out, code
}

func TestLintCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app/schemahook.yaml":             "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nspec:\n  migrations: {dir: sql}\n  lint: {rules: {SH102: warn}}\n",
		"app/sql/20240101000000_init.sql": "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);\n",
		"app/sql/20240102000000_drop.sql": "-- cleanup\nALTER TABLE orders DROP COLUMN note;\n",
		"bad/20240101000000_bad.sql":      "SELECT 1;\n\nALTER TABLE orders ADD COLUMN;\n",
		"allowed/20240101000000_init.sql": "CREATE TABLE orders (note text);\n",
		"allowed/20240102000000_drop.sql": "-- schemahook:allow SH102 note moved to order_notes\nALTER TABLE orders DROP COLUMN note;\n",
	})
	sql := filepath.Join(dir, "app", "sql")
	slash := filepath.ToSlash(sql)
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"all files: the dropped column is new", []string{sql}, 0, ""},
		{"since: drop on existing column blocks", []string{sql, "--since", "20240101000000"}, 3,
			slash + "/20240102000000_drop.sql:2:1: SH102 "},
		{"rule override to warn", []string{sql, "--since", "20240101000000", "--rule", "SH102=warn", "--lock-timeout"}, 0, "SH102"},
		{"policy warn", []string{sql, "--since", "20240101000000", "--policy", "warn"}, 0, "SH102"},
		{"policy off", []string{sql, "--since", "20240101000000", "--policy", "off"}, 0, ""},
		{"app dir config: SH102 warn, lockTimeout set", []string{filepath.Join(dir, "app"), "--since", "20240101000000"}, 0, "SH102"},
		{"flag beats config", []string{filepath.Join(dir, "app"), "--since", "20240101000000", "--rule", "sh102=error"}, 3, "SH102"},
		{"syntax error is a finding", []string{filepath.Join(dir, "bad")}, 3,
			filepath.ToSlash(filepath.Join(dir, "bad")) + "/20240101000000_bad.sql:3:30: SH000 syntax error at or near \";\""},
		{"allowed with reason", []string{filepath.Join(dir, "allowed"), "--since", "20240101000000", "--lock-timeout"}, 0, ""},
		{"unknown rule", []string{sql, "--rule", "SH999=warn"}, 1, ""},
		{"bad level", []string{sql, "--policy", "loud"}, 1, ""},
		{"bad output", []string{sql, "--output", "xml"}, 1, ""},
		{"missing dir", []string{filepath.Join(dir, "nope")}, 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runLint(t, tc.args...)
			assert.Equal(t, tc.wantCode, code, out)
			if tc.want == "" {
				assert.Empty(t, out)
			} else {
				assert.Contains(t, out, tc.want)
			}
		})
	}
}

func TestLintCommandOutputs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"20240101000000_init.sql": "CREATE TABLE orders (note text);\n",
		"20240102000000_drop.sql": "TRUNCATE orders;\n",
	})
	out, code := runLint(t, dir, "--since", "20240101000000", "--output", "json", "--lock-timeout")
	assert.Equal(t, 3, code)
	var res struct {
		Findings []struct{ Code, Severity string }
		Blocked  bool
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.True(t, res.Blocked)
	require.NotEmpty(t, res.Findings)
	assert.Equal(t, "SH106", res.Findings[0].Code)

	out, code = runLint(t, dir, "--since", "20240101000000", "--output", "sarif", "--lock-timeout")
	assert.Equal(t, 3, code)
	var log struct {
		Version string
		Runs    []struct{ Results []struct{ RuleID string } }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &log))
	assert.Equal(t, "2.1.0", log.Version)
	require.Len(t, log.Runs, 1)
	assert.Equal(t, "SH106", log.Runs[0].Results[0].RuleID)
}

// TestLintAssumeLockTimeout: --assume-lock-timeout and its deprecated spelling --lock-timeout
// both silence SH310, and the deprecation note stays off stdout (which may be JSON).
func TestLintAssumeLockTimeout(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"20240101000000_init.sql": "CREATE TABLE orders (note text);\n",
		"20240102000000_drop.sql": "-- schemahook:allow SH102 note moved to order_notes\nALTER TABLE orders DROP COLUMN note;\n",
	})
	for _, tc := range []struct {
		flag, want string
	}{
		{"", "SH310"},
		{"--assume-lock-timeout", ""},
		{"--lock-timeout", ""},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			args := []string{dir, "--since", "20240101000000", "--output", "json"}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			out, code := runLint(t, args...)
			require.Equal(t, 0, code, out)
			var res struct{ Findings []struct{ Code string } }
			require.NoError(t, json.Unmarshal([]byte(out), &res), out)
			var codes string
			for _, f := range res.Findings {
				codes += f.Code
			}
			assert.Equal(t, tc.want, codes)
		})
	}
}
