package migrations

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// TestDirFile: the files the Job gets are exactly those Read reads, plus atlas.sum.
func TestDirFile(t *testing.T) {
	fsys := fstest.MapFS{
		"1_a.sql": {}, SumFileName: {}, "atlas.sum": {},
		".hidden.sql": {}, "README.sql": {}, "notes.txt": {}, "1_a.go": {}, "sub.sql/x": {},
	}
	entries, err := fs.ReadDir(fsys, ".")
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		if DirFile(e) {
			got = append(got, e.Name())
		}
	}
	require.Equal(t, []string{"1_a.sql", "atlas.sum", SumFileName}, got)
}
