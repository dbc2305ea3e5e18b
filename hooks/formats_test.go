package hooks

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/internal/testfs"
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
	dumps := map[string]string{}
	for _, format := range testfs.Formats {
		t.Run(format, func(t *testing.T) {
			url := pgtest.URL(t)
			r := apply(t, Options{Dir: testfs.FormatDir(t, format), URL: url})
			require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
			require.NotEmpty(t, r.report.Applied)
			dumps[format] = schemaDump(t, url)
		})
	}
	require.GreaterOrEqual(t, len(dumps), 5, "fixtures missing")
	want := dumps["schemahook"]
	require.Contains(t, want, "CREATE TABLE public.orders")
	for name, got := range dumps {
		assert.Equal(t, want, got, "format %s gives another schema than schemahook's", name)
	}
}
