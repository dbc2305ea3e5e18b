package hooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// schemaDump is pg_dump --schema-only of url without the revisions schema, minus the
// lines that differ between any two dumps (psql \restrict keys).
func schemaDump(t testing.TB, url string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(pgtest.ClientDir(t), "pg_dump"), "--schema-only", "--no-owner",
		"--exclude-schema=schemahook", "-d", url).Output()
	require.NoError(t, err)
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, `\restrict`) || strings.HasPrefix(l, `\unrestrict`) {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// TestFormatsGiveTheSameSchema applies the same migrations written in every supported
// format and compares the resulting schemas.
func TestFormatsGiveTheSameSchema(t *testing.T) {
	root := "../migrations/testdata/formats"
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	dumps := map[string]string{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			url := pgtest.URL(t)
			r := apply(t, Options{Dir: filepath.Join(root, e.Name()), URL: url})
			require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
			require.NotEmpty(t, r.report.Applied)
			dumps[e.Name()] = schemaDump(t, url)
		})
	}
	require.GreaterOrEqual(t, len(dumps), 5, "fixtures missing")
	want := dumps["schemahook"]
	require.Contains(t, want, "CREATE TABLE public.orders")
	for name, got := range dumps {
		assert.Equal(t, want, got, "format %s gives another schema than schemahook's", name)
	}
}
