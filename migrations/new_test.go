package migrations

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 25, 8, 30, 5, 0, time.FixedZone("CET", 3600))

func TestNextVersion(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"empty directory takes a UTC timestamp", nil, "20261125073005"},
		{"timestamps", []string{"20240101120000_a.sql"}, "20261125073005"},
		{"clock behind the newest file", []string{"20301231235959_a.sql"}, "20301231235960"},
		{"sequential keeps its padding", []string{"00001_a.sql", "00009_b.sql"}, "00010"},
		{"sequential, numeric not lexical", []string{"9_a.sql", "10_b.sql"}, "11"},
		{"golang-migrate sequential", []string{"000001_a.up.sql", "000001_a.down.sql"}, "000002"},
		{"flyway next major", []string{"V1__a.sql", "V1.2__b.sql", "R__c.sql"}, "2"},
		{"flyway empty of versions", []string{"R__c.sql"}, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, n := range tt.files {
				fsys[n] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			d, err := Read(fsys, Options{})
			require.NoError(t, err)
			require.Equal(t, tt.want, NextVersion(d, now))
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		fixture string // format whose directory (testfs.FormatDir) is copied first; "" for a new directory
		want    map[string]string
	}{
		{"new directory is native", "", map[string]string{"20261125073005_add_users.sql": ""}},
		{"schemahook", "schemahook", map[string]string{"20261125073005_add_users.sql": ""}},
		{"golang-migrate", "golang-migrate", map[string]string{"000006_add_users.up.sql": "", "000006_add_users.down.sql": ""}},
		{"goose", "goose", map[string]string{"20261125073005_add_users.sql": "-- +goose Up\n\n\n-- +goose Down\n\n"}},
		{"dbmate", "dbmate", map[string]string{"20261125073005_add_users.sql": "-- migrate:up\n\n\n-- migrate:down\n\n"}},
		{"flyway", "flyway", map[string]string{"V11__add_users.sql": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "migrations")
			if tt.fixture != "" {
				require.NoError(t, os.CopyFS(dir, os.DirFS(testfs.FormatDir(t, tt.fixture))))
			}
			p, err := New(dir, "add users", now)
			require.NoError(t, err)
			for n, content := range tt.want {
				b, err := os.ReadFile(filepath.Join(dir, n))
				require.NoError(t, err)
				require.Equal(t, content, string(b))
			}
			require.Contains(t, tt.want, filepath.Base(p))
			// The directory still reads, with the new file last, and its sum still checks.
			d, err := Read(os.DirFS(dir), Options{})
			require.NoError(t, err)
			require.Equal(t, filepath.Base(p), d.Files[len(d.Files)-1].Name)
			require.NoError(t, d.CheckSum())
			if tt.fixture != "" {
				require.NotNil(t, d.Sum)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := New(dir, "../evil", now)
	require.EqualError(t, err, `migration name "../evil": use letters, digits, '_' and '-' (spaces become '_')`)

	// A stale sum stays stale: New does not bless changes nobody hashed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "1_a.sql"), []byte("SELECT 1;"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, SumFileName), []byte("h1:stale\n"), 0o644))
	_, err = New(dir, "b", now)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, SumFileName))
	require.NoError(t, err)
	require.Equal(t, "h1:stale\n", string(b))

	// A broken directory is refused with the reader's error.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "2_b.sql"), []byte("SELEC"), 0o644))
	_, err = New(dir, "c", now)
	var e *failure.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "syntax", e.Rule)
}

// TestNewFiles: every format's new migration reads back in that format as one empty
// migration of the version given, with the down file or section the format keeps.
func TestNewFiles(t *testing.T) {
	for _, f := range []Format{FormatNative, FormatGolangMigrate, FormatGoose, FormatDbmate, FormatFlyway} {
		t.Run(string(f), func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, nf := range newFiles(f, "7", "addx") {
				fsys[nf.name] = &fstest.MapFile{Data: []byte(nf.content)}
			}
			d, err := Read(fsys, Options{Format: f})
			require.NoError(t, err)
			require.Len(t, d.Files, 1)
			require.Equal(t, "7", d.Files[0].Version)
			require.Equal(t, "addx", d.Files[0].Description)
			require.Empty(t, d.Files[0].Statements)
		})
	}
}
