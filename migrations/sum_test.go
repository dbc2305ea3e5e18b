package migrations

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/schemahook/schemahook/failure"
	"github.com/stretchr/testify/require"
)

func sumDir(t *testing.T, files map[string]string, sum []byte) *Dir {
	t.Helper()
	fsys := fstest.MapFS{}
	for n, c := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(c)}
	}
	if sum != nil {
		fsys[SumFileName] = &fstest.MapFile{Data: sum}
	}
	d, err := Read(fsys, Options{Path: "db/migrations"})
	require.NoError(t, err)
	return d
}

func TestComputeSum(t *testing.T) {
	d := sumDir(t, map[string]string{"2_b.up.sql": "SELECT 2;\n", "1_a.up.sql": "SELECT 1;\n", "1_a.down.sql": ""}, nil)
	// Golden values computed independently (Python hashlib): sha256 of the bytes in base64;
	// the first line hashes the lines below it.
	require.Equal(t, "h1:uq3LqLGD1J4SXVB+3hvbuyUeRqfCM/eJSf5quXNV5tk=\n"+
		"1_a.up.sql h1:tOBJeATkbgoLC4wxl1sGIVLVUbrEnDwugJMlZ7QIXc0=\n"+
		"1_a.down.sql h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"+
		"2_b.up.sql h1:pBEJ0kBptIIt3F82eyXUhNx+g5v/M4zno+XaZByqzaA=\n", string(d.ComputeSum()))
	require.Equal(t, string(d.ComputeSum()), string(d.ComputeSum()), "deterministic")
}

func TestCheckSum(t *testing.T) {
	files := map[string]string{"1_a.sql": "SELECT 1;\n", "2_b.sql": "SELECT 2;\n", "3_c.sql": "SELECT 3;\n"}
	good := sumDir(t, files, nil).ComputeSum()
	with := func(edit func(map[string]string)) map[string]string {
		m := map[string]string{}
		for k, v := range files {
			m[k] = v
		}
		edit(m)
		return m
	}
	tests := []struct {
		name  string
		files map[string]string
		sum   []byte
		want  string
	}{
		{"no sum file", files, nil, ""},
		{"matches", files, good, ""},
		{"matches with CRLF line ends", files, []byte(strings.ReplaceAll(string(good), "\n", "\r\n")), ""},
		{"changed, added and removed", with(func(m map[string]string) {
			m["2_b.sql"] = "SELECT 22;\n"
			m["4_d.sql"] = "SELECT 4;\n"
			m["0_z.sql"] = "SELECT 0;\n"
			delete(m, "3_c.sql")
		}), good, "db/migrations/schemahook.sum: does not match the directory: added 0_z.sql, 4_d.sql; changed 2_b.sql; removed 3_c.sql; review the change, then run `schemahook hash db/migrations` [stale-sum]"},
		{"first line edited by hand", files, []byte("h1:AAAA" + string(good[strings.IndexByte(string(good), '\n'):])),
			"db/migrations/schemahook.sum:1: first line does not match the lines below it (edited by hand?); review the change, then run `schemahook hash db/migrations` [stale-sum]"},
		{"a line edited to the new hash but not the first", with(func(m map[string]string) { m["1_a.sql"] = "SELECT 11;\n" }),
			[]byte(strings.Replace(string(good), "1_a.sql h1:", "x", 1)),
			"db/migrations/schemahook.sum:2: not a \"<file> h1:<hash>\" line; review the change, then run `schemahook hash db/migrations` [sum-syntax]"},
		{"not a sum file", files, []byte("hello\n"),
			"db/migrations/schemahook.sum:1: first line is not \"h1:<hash>\"; review the change, then run `schemahook hash db/migrations` [sum-syntax]"},
		{"empty sum file", files, []byte{},
			"db/migrations/schemahook.sum:1: first line is not \"h1:<hash>\"; review the change, then run `schemahook hash db/migrations` [sum-syntax]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sumDir(t, tt.files, tt.sum).CheckSum()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.want)
			var e *failure.Error
			require.ErrorAs(t, err, &e)
		})
	}
}

func TestCheckSumEditedLineAndHeader(t *testing.T) {
	// Someone edits a file and patches its line and the first line by hand without the tool:
	// the sum then really matches, which is what `schemahook hash` would have written.
	files := map[string]string{"1_a.sql": "SELECT 1;\n"}
	d := sumDir(t, map[string]string{"1_a.sql": "SELECT 11;\n"}, sumDir(t, files, nil).ComputeSum())
	require.ErrorContains(t, d.CheckSum(), "changed 1_a.sql")
	d.Sum = d.ComputeSum()
	require.NoError(t, d.CheckSum())
}
