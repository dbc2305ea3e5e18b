package migrations

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/schemahook/schemahook/internal/cputime"
	"github.com/stretchr/testify/require"
)

// TestDirFSReadsAsRoot: Read through OpenDir (parallel, openat2) gives what Read through an
// os.Root gives, files or the same refusal, also where the refusal lies among many files.
func TestDirFSReadsAsRoot(t *testing.T) {
	many := func(t *testing.T, dir string) {
		for i := 1; i <= 300; i++ {
			write(t, dir, fmt.Sprintf("%03d_f.sql", i), fmt.Sprintf("SELECT %d;\n", i))
		}
	}
	// thousands are more files than one getdents call lists (64 KiB: some 1,360 of these
	// names), so the listing hands them to its readers in two batches.
	thousands := func(t *testing.T, dir string) {
		for i := 1; i <= 1500; i++ {
			write(t, dir, fmt.Sprintf("%04d_file_number_%d.sql", i, i), fmt.Sprintf("SELECT %d;\n", i))
		}
	}
	late := func(name, body string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			thousands(t, dir)
			write(t, dir, name, body)
		}
	}
	// summed is setup with a schemahook.sum written for its files, then passed to edit.
	summed := func(setup func(t *testing.T, dir string), edit func(sum string) string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			setup(t, dir)
			root, err := os.OpenRoot(dir)
			require.NoError(t, err)
			defer root.Close()
			d, err := Read(root.FS(), Options{})
			require.NoError(t, err)
			write(t, dir, SumFileName, edit(string(d.ComputeSum())))
		}
	}
	same := func(sum string) string { return sum }
	// among is many files and, as name, a symlink to target, which prepare makes.
	among := func(name, target string, prepare func(t *testing.T, dir string)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			many(t, dir)
			if prepare != nil {
				prepare(t, dir)
			}
			require.NoError(t, os.Symlink(target, filepath.Join(dir, name)))
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		opts  Options
		fails bool
	}{
		{"many files", many, Options{}, false},
		{"configmap layout", func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "..data"), 0o755))
			for i := 1; i <= 100; i++ {
				n := fmt.Sprintf("%03d_f.sql", i)
				write(t, filepath.Join(dir, "..data"), n, "SELECT 1;\n")
				require.NoError(t, os.Symlink("..data/"+n, filepath.Join(dir, n)))
			}
		}, Options{}, false},
		{"symlink escapes", among("150_x.sql", "../outside.sql", func(t *testing.T, dir string) {
			write(t, filepath.Dir(dir), "outside.sql", "SELECT 2;\n")
		}), Options{}, true},
		{"absolute symlink", func(t *testing.T, dir string) {
			write(t, dir, "1_a.sql", "SELECT 1;\n")
			require.NoError(t, os.Symlink(filepath.Join(dir, "1_a.sql"), filepath.Join(dir, "2_b.sql")))
		}, Options{}, true},
		{"symlink to a directory", among("200_x.sql", "sub", func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
		}), Options{}, true},
		{"dangling symlink", among("250_x.sql", "missing.sql", nil), Options{}, true},
		{"named pipe", func(t *testing.T, dir string) {
			many(t, dir)
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "100_x.sql"), 0o644))
		}, Options{}, true},
		{"symlink to a named pipe", among("100_x.sql", "pipe", func(t *testing.T, dir string) {
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
		}), Options{}, true},
		{"control character in a name", func(t *testing.T, dir string) {
			many(t, dir)
			write(t, dir, "120_a\tb.sql", "SELECT 1;\n")
		}, Options{}, true},
		{"file too big", func(t *testing.T, dir string) {
			many(t, dir)
			write(t, dir, "280_big.sql", "SELECT 1;"+strings.Repeat(" ", 100)+"\n")
		}, Options{MaxFileSize: 50}, true},
		{"total too big", many, Options{MaxTotalSize: 2000, Path: "db/m"}, true},
		{"thousands", thousands, Options{}, false},
		{"thousands, goose markers in one", late("1501_g.sql", "-- +goose Up\nSELECT 1;\n"), Options{}, true}, // the other files lack the marker: refused alike
		{"thousands, dbmate markers in one", late("1501_g.sql", "-- Migrate:up\nSELECT 1;\n"), Options{}, true},
		{"thousands, invalid UTF-8 in one", late("1400_bad.sql", "SELECT 1;\n-- \xff\n"), Options{}, true},
		{"thousands, byte order mark in one", late("1400_bom.sql", "\ufeffSELECT 1;\n"), Options{}, true},
		{"thousands, too many", thousands, Options{MaxFiles: 1400}, true},
		{"thousands, total too big", thousands, Options{MaxTotalSize: 12000}, true},
		{"thousands, out of version order", late("10000_ten.sql", "SELECT 10000;\n"), Options{}, false},
		{"thousands, a duplicate version", late("0007_again.sql", "SELECT 7;\n"), Options{}, true},
		{"thousands, summed", summed(thousands, same), Options{}, false},
		{"thousands, summed with CRLF", summed(thousands, func(sum string) string { return strings.ReplaceAll(sum, "\n", "\r\n") }), Options{}, false},
		{"thousands, a stale sum", summed(thousands, func(sum string) string { return strings.Replace(sum, "0700_", "0700x", 1) }), Options{}, false},
		{"thousands, a sum's first line edited", summed(thousands, func(sum string) string { return "h1:AAAA" + sum[7:] }), Options{}, false},
		{"syntax error", func(t *testing.T, dir string) {
			many(t, dir)
			write(t, dir, "299_f.sql", "SELEC 1;\n")
		}, Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			require.NoError(t, os.Mkdir(dir, 0o755))
			tt.setup(t, dir)
			root, err := os.OpenRoot(dir)
			require.NoError(t, err)
			defer root.Close()
			want, wantErr := Read(root.FS(), tt.opts)
			d, err := OpenDir(dir)
			require.NoError(t, err)
			defer d.Close()
			wantEntries, err := fs.ReadDir(root.FS(), ".")
			require.NoError(t, err)
			gotEntries, err := d.ReadDir(".")
			require.NoError(t, err)
			require.Equal(t, entryShape(wantEntries), entryShape(gotEntries))
			got, gotErr := Read(d, tt.opts)
			if tt.fails {
				require.Error(t, wantErr)
				require.EqualError(t, gotErr, wantErr.Error())
				return
			}
			require.NoError(t, wantErr)
			require.NoError(t, gotErr)
			require.Equal(t, shape(want), shape(got))
			wantSum, gotSum := fmt.Sprint(want.CheckSum()), fmt.Sprint(got.CheckSum())
			require.Equal(t, wantSum, gotSum)
			require.Equal(t, strings.Contains(tt.name, "sum") && !strings.Contains(tt.name, "summed"), wantSum != "<nil>", wantSum)
		})
	}
}

// TestDeferStatements: a deferred read has the files and checksums but no statements until
// Split, which refuses a broken file as Read does.
func TestDeferStatements(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	require.NoError(t, os.Mkdir(dir, 0o755))
	write(t, dir, "1_a.sql", "CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY a_i ON a (id);\n")
	write(t, dir, "2_b.sql", "SELEC 1;\n")
	d, err := OpenDir(dir)
	require.NoError(t, err)
	defer d.Close()
	_, readErr := Read(d, Options{Path: "db/m"})
	require.Error(t, readErr)

	dd, err := Read(d, Options{Path: "db/m", DeferStatements: true})
	require.NoError(t, err)
	require.Len(t, dd.Files, 2)
	require.NotEmpty(t, dd.Files[0].Checksum)
	require.Nil(t, dd.Files[0].Statements)
	require.EqualError(t, dd.Split(), readErr.Error())
	require.Len(t, dd.Files[0].Statements, 2, "files before the broken one are split")
	require.False(t, dd.Files[0].Transactional())
}

// TestRootDirReadsTheRootsDirectory: a DirFS made from an os.Root reads the directory the
// root holds, also once its path leads elsewhere (a symlink swapped in, as a hostile
// repository could), and keeps the listing Read made.
func TestRootDirReadsTheRootsDirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "m")
	require.NoError(t, os.Mkdir(dir, 0o755))
	write(t, dir, "1_a.sql", "SELECT 1;\n")
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	d := RootDir(root)
	defer d.Close()
	require.Nil(t, d.Listed())

	other := filepath.Join(base, "other")
	require.NoError(t, os.Mkdir(other, 0o755))
	write(t, other, "1_evil.sql", "DROP TABLE users;\n")
	require.NoError(t, os.Rename(dir, filepath.Join(base, "moved")))
	require.NoError(t, os.Symlink(other, dir))

	got, err := Read(d, Options{})
	require.NoError(t, err)
	require.Len(t, got.Files, 1)
	require.Equal(t, "1_a.sql", got.Files[0].Name)
	require.Equal(t, []string{"1_a.sql ----------"}, entryShape(d.Listed()))
}

// entryShape is each entry's name and type.
func entryShape(entries []fs.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name()+" "+e.Type().String())
	}
	return out
}

// shape is what Read gave, without the position indexes.
func shape(d *Dir) []string {
	out := []string{string(d.Format), string(d.Sum)}
	for _, f := range d.Files {
		out = append(out, fmt.Sprintf("%s %s %s %q %v", f.Name, f.Version, f.Checksum, f.Content, f.Statements))
	}
	return out
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

// BenchmarkReadDir reads a real directory of n files the way the hook does (OpenDir,
// statements deferred) and, for comparison, through an os.Root with every file split.
func BenchmarkReadDir(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		dir := b.TempDir()
		for i := range n {
			write(&testing.T{}, dir, fmt.Sprintf("%014d_step_%d.sql", 20240101000000+i, i), fmt.Sprintf(
				"CREATE TABLE t%d (id bigint PRIMARY KEY, name text NOT NULL DEFAULT '');\nCREATE INDEX t%d_name_idx ON t%d (name);\n", i, i, i))
		}
		for _, way := range []string{"root", "dirfs-deferred"} {
			b.Run(fmt.Sprintf("files=%d/%s", n, way), func(b *testing.B) {
				start := cputime.Now()
				for b.Loop() {
					var d *Dir
					var err error
					if way == "root" {
						root, _ := os.OpenRoot(dir)
						d, err = Read(root.FS(), Options{})
						root.Close()
					} else {
						fsys, _ := OpenDir(dir)
						d, err = Read(fsys, Options{DeferStatements: true})
						fsys.Close()
					}
					if err != nil || len(d.Files) != n {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cputime.Now()-start)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}

// TestDirFSManyFilesWhole: files of every size, from empty to larger than a read chunk
// shares, read side by side into shared chunks, each come back byte for byte with the
// checksum of its own bytes.
func TestDirFSManyFilesWhole(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{}
	for i := range 400 {
		size := []int{0, 1, 17, 700, 4095, 4096, arenaChunk / 8, arenaChunk/8 + 1, 3 * arenaChunk / 2}[i%9]
		body := strings.Repeat(fmt.Sprintf("-- %d\n", i), size/5+1)[:size]
		name := fmt.Sprintf("%04d_f.sql", i)
		write(t, dir, name, body)
		want[name] = body
	}
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	defer fsys.Close()
	d, err := Read(fsys, Options{DeferStatements: true, MaxTotalSize: 1 << 30})
	require.NoError(t, err)
	require.Len(t, d.Files, len(want))
	for _, f := range d.Files {
		require.Equal(t, want[f.Name], f.Content, f.Name)
		sum := sha256.Sum256([]byte(want[f.Name]))
		require.Equal(t, hex.EncodeToString(sum[:]), f.Checksum, f.Name)
	}
}

// TestDirFSReadEntryAlone: a file read on its own (no shared chunk, no batch of
// descriptors, as Read reads what the parallel reading left) comes back whole, whatever its
// size against the first read's room.
func TestDirFSReadEntryAlone(t *testing.T) {
	dir := t.TempDir()
	sizes := []int{0, 1, 100, 4095, 4096, 4097, 40000}
	for _, size := range sizes {
		write(t, dir, fmt.Sprintf("%05d.sql", size), strings.Repeat("x", size))
	}
	d, err := OpenDir(dir)
	require.NoError(t, err)
	defer d.Close()
	entries, err := d.ReadDir(".")
	require.NoError(t, err)
	require.Len(t, entries, len(sizes))
	for i, e := range entries {
		for _, ar := range []*arena{nil, {}} {
			b, ferr := d.readEntry(e, 1<<20, nil, ar)
			require.Nil(t, ferr, e.Name())
			require.Equal(t, strings.Repeat("x", sizes[i]), string(b), e.Name())
		}
		_, ferr := d.readEntry(e, 4096, nil, nil)
		if sizes[i] > 4096 {
			require.NotNil(t, ferr, e.Name())
			require.Equal(t, "limit-file-size", ferr.Rule)
		} else {
			require.Nil(t, ferr, e.Name())
		}
	}
}
