package review

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The lint variant (`schemahook lint DIR [--since V]`) on bare migration directories: what
// lint.Dir did before lint and check shared this package.
func TestLintVariant(t *testing.T) {
	yes := true
	cases := []struct {
		name    string
		files   map[string]string
		opts    Options
		want    []string // "file:line:col CODE", file relative to the dir
		wantErr string
	}{
		{
			name: "since splits earlier from pending",
			files: map[string]string{
				"20240101000000_a.sql": "CREATE TABLE t (id bigint);",
				"20240102000000_b.sql": "CREATE INDEX ON t (id);",
			},
			opts: Options{Since: "20240101000000", Lint: Overrides{LockTimeout: &yes}},
			want: []string{"20240102000000_b.sql:1:1 SH301"},
		},
		{
			name: "without since the table is new",
			files: map[string]string{
				"20240101000000_a.sql": "CREATE TABLE t (id bigint);",
				"20240102000000_b.sql": "CREATE INDEX ON t (id);",
			},
		},
		{
			name: "flyway repeatables are always pending",
			files: map[string]string{
				"V1__a.sql":    "CREATE TABLE t (id bigint);",
				"R__clean.sql": "DELETE FROM t;",
			},
			opts: Options{Since: "1"},
			want: []string{"R__clean.sql:1:1 SH107"},
		},
		{
			name:  "syntax error is a finding at its position",
			files: map[string]string{"20240101000000_a.sql": "SELECT 1;\n-- x\nCREATE TABLE t (id bigint,);\n"},
			want:  []string{"20240101000000_a.sql:3:27 SH000"},
		},
		{
			name:  "invalid UTF-8 is a finding",
			files: map[string]string{"20240101000000_a.sql": "SELECT 1;\nSELECT '\xff';\n"},
			want:  []string{"20240101000000_a.sql:2:9 SH000"},
		},
		{
			name:  "syntax error under policy off",
			files: map[string]string{"20240101000000_a.sql": "SELEC 1;"},
			opts:  Options{Lint: Overrides{Policy: "off"}},
		},
		{
			name: "other refusals are errors",
			files: map[string]string{
				"20240101000000_a.sql": "SELECT 1;",
				"20240101000000_b.sql": "SELECT 2;",
			},
			wantErr: "duplicate-version",
		},
		{
			name:    "a bad rule override is a usage error",
			files:   map[string]string{"20240101000000_a.sql": "SELECT 1;"},
			opts:    Options{Lint: Overrides{Rules: []string{"SH999=warn"}}},
			wantErr: "SH999",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
			}
			tc.opts.LintOnly = true
			rep, err := Run([]string{dir}, tc.opts)
			if testfs.WantErr(t, err, tc.wantErr) {
				return
			}
			var got []string
			for _, f := range rep.Findings {
				rel, err := filepath.Rel(dir, filepath.FromSlash(f.File))
				require.NoError(t, err)
				got = append(got, filepath.ToSlash(rel)+":"+strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Col)+" "+f.Rule)
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, len(got) > 0, rep.Blocked())
		})
	}
}
