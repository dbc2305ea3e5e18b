package lint

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDir(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		opts    DirOptions
		want    []string // "file:line:col CODE", file relative to the dir
		wantErr string
	}{
		{
			name: "since splits earlier from pending",
			files: map[string]string{
				"20240101000000_a.sql": "CREATE TABLE t (id bigint);",
				"20240102000000_b.sql": "CREATE INDEX ON t (id);",
			},
			opts: DirOptions{Since: "20240101000000", Options: Options{LockTimeout: true}},
			want: []string{"20240102000000_b.sql:1:1 SH301"},
		},
		{
			name: "without since the table is new",
			files: map[string]string{
				"20240101000000_a.sql": "CREATE TABLE t (id bigint);",
				"20240102000000_b.sql": "CREATE INDEX ON t (id);",
			},
			want: nil,
		},
		{
			name: "flyway repeatables are always pending",
			files: map[string]string{
				"V1__a.sql":    "CREATE TABLE t (id bigint);",
				"R__clean.sql": "DELETE FROM t;",
			},
			opts: DirOptions{Since: "1"},
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
			opts:  DirOptions{Options: Options{Policy: Policy{Default: LevelOff}}},
			want:  nil,
		},
		{
			name: "other refusals are errors",
			files: map[string]string{
				"20240101000000_a.sql": "SELECT 1;",
				"20240101000000_b.sql": "SELECT 2;",
			},
			wantErr: "duplicate-version",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
			}
			res, err := Dir(dir, tc.opts)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, f := range res.Findings {
				rel, err := filepath.Rel(dir, filepath.FromSlash(f.File))
				require.NoError(t, err)
				got = append(got, filepath.ToSlash(rel)+":"+itoa(f.Line)+":"+itoa(f.Col)+" "+f.Code)
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, len(got) > 0, res.Blocked)
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
