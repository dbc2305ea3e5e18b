package migrations

import (
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/schemahook/schemahook/failure"
	"github.com/stretchr/testify/require"
)

// statFS reports every file's size as size (a /proc-like or changing file), reads in chunks
// of at most chunk bytes and records which files were read to io.EOF (the plugin's
// recording FS keeps only those).
type statFS struct {
	fsys  fstest.MapFS
	size  int64
	chunk int
	eof   map[string]bool
}

func (s *statFS) Open(name string) (fs.File, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return &statFile{File: f, fs: s, name: name}, nil
}

// ReadDir gives entries whose Info says size too, as Read may use it instead of a Stat.
func (s *statFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := s.fsys.ReadDir(name)
	for i, e := range entries {
		entries[i] = statEntry{e, s.size}
	}
	return entries, err
}

type statEntry struct {
	fs.DirEntry
	size int64
}

func (e statEntry) Info() (fs.FileInfo, error) {
	info, err := e.DirEntry.Info()
	if err != nil {
		return nil, err
	}
	return sizedInfo{info, e.size}, nil
}

type statFile struct {
	fs.File
	fs   *statFS
	name string
}

type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (i sizedInfo) Size() int64 { return i.size }

func (f *statFile) Stat() (fs.FileInfo, error) {
	st, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return sizedInfo{st, f.fs.size}, nil
}

func (f *statFile) Read(p []byte) (int, error) {
	if len(p) > f.fs.chunk {
		p = p[:f.fs.chunk]
	}
	n, err := f.File.Read(p)
	if err == io.EOF {
		f.fs.eof[f.name] = true
	}
	return n, err
}

func TestReadWhateverStatSays(t *testing.T) {
	long := "SELECT 1;\n" + strings.Repeat("-- padding\n", 500)
	for _, size := range []int64{0, 1, 10, int64(len(long)) - 1, int64(len(long)), int64(len(long)) + 1, 1 << 20} {
		for _, chunk := range []int{1, 7, 4096} {
			fsys := &statFS{fsys: fstest.MapFS{"1_a.sql": {Data: []byte(long)}, "2_b.sql": {Data: []byte("SELECT 2;")}, "3_c.sql": {Data: nil}}, size: size, chunk: chunk, eof: map[string]bool{}}
			d, err := Read(fsys, Options{})
			if size > DefaultMaxFileSize {
				require.Error(t, err)
				continue
			}
			require.NoError(t, err, "stat size %d, chunk %d", size, chunk)
			require.Len(t, d.Files, 3)
			require.Equal(t, long, d.Files[0].Content)
			require.Equal(t, "SELECT 2;", d.Files[1].Content)
			require.Equal(t, "", d.Files[2].Content)
			require.Equal(t, map[string]bool{"1_a.sql": true, "2_b.sql": true, "3_c.sql": true}, fsys.eof, "every file is read to io.EOF")
		}
	}
	// A file longer than the limit is refused even when Stat says it is small.
	fsys := &statFS{fsys: fstest.MapFS{"1_a.sql": {Data: []byte(strings.Repeat("x", 101))}}, size: 10, chunk: 7, eof: map[string]bool{}}
	_, err := Read(fsys, Options{MaxFileSize: 100})
	require.EqualError(t, err, "1_a.sql: file is more than 100 bytes, the limit [limit-file-size]")
	fsys = &statFS{fsys: fstest.MapFS{"1_a.sql": {Data: []byte(strings.Repeat("x", 100))}}, size: 10, chunk: 7, eof: map[string]bool{}}
	_, err = Read(fsys, Options{MaxFileSize: 100})
	var e *failure.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "syntax", e.Rule) // read whole, then refused as SQL
}
