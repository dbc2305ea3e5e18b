package devdb

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testMajors reads $SCHEMAHOOK_TEST_PG_MAJORS ("14=/dir/bin 16=/dir/bin", set by
// scripts/test.sh) in ascending major order, skipping the test without it. (pgtest, which
// reads it for other packages, imports this one.)
func testMajors(t *testing.T, least int) []Bin {
	var bins []Bin
	for _, f := range strings.Fields(os.Getenv("SCHEMAHOOK_TEST_PG_MAJORS")) {
		m, dir, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(m)
		require.NoError(t, err, f)
		bins = append(bins, Bin{Dir: dir, Major: n})
	}
	if len(bins) < least {
		t.Skipf("SCHEMAHOOK_TEST_PG_MAJORS lists %d Postgres majors, the test needs %d (scripts/test.sh sets it)", len(bins), least)
	}
	slices.SortFunc(bins, func(a, b Bin) int { return a.Major - b.Major })
	return bins
}

func dirsOf(bins []Bin) []string {
	var d []string
	for _, b := range bins {
		d = append(d, b.Dir)
	}
	return d
}

// checkFound checks a search's result: the directory got, or with got "" an error containing
// each of errs. It says whether a directory was found.
func checkFound(t *testing.T, b Bin, err error, got string, errs []string) bool {
	t.Helper()
	if got == "" {
		require.Error(t, err)
		for _, s := range errs {
			assert.Contains(t, err.Error(), s)
		}
		return false
	}
	require.NoError(t, err)
	assert.Equal(t, got, b.Dir)
	return true
}

// TestFindServer proves the choice of dev server binaries on real ones: the target's major,
// else the nearest newer, else a refusal naming the major, what was found and the fix.
func TestFindServer(t *testing.T) {
	bins := testMajors(t, 3)
	oldest, newest := bins[0], bins[len(bins)-1]
	all := dirsOf(bins)
	slices.Reverse(all) // the order of the search must not decide
	for _, tc := range []struct {
		name string
		want int
		dirs []string
		got  string   // the directory chosen, or "" for an error
		errs []string // in the error
	}{
		{"oldest", oldest.Major, all, oldest.Dir, nil},
		{"newest", newest.Major, all, newest.Dir, nil},
		{"any", 0, all, all[0], nil},
		{"nearest newer", oldest.Major, dirsOf(bins[1:]), bins[1].Dir, nil},
		{"missing dirs skipped", newest.Major, append([]string{"/nonexistent", t.TempDir()}, all...), newest.Dir, nil},
		{"none newer", newest.Major + 1, all, "", []string{
			"major version " + strconv.Itoa(newest.Major+1) + " (the target's) or newer",
			"found only: ", oldest.Dir + " (major " + strconv.Itoa(oldest.Major) + ")",
			"fix: install the Postgres " + strconv.Itoa(newest.Major+1) + " server", "SCHEMAHOOK_PG_BIN", "dev.url"}},
		{"none at all", oldest.Major, []string{t.TempDir()}, "", []string{"found none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := findServer(tc.want, tc.dirs, "the test's dirs")
			if !checkFound(t, b, err, tc.got, tc.errs) {
				return
			}
			m, err := progMajor(b.Dir, "postgres")
			require.NoError(t, err)
			assert.Equal(t, m, b.Major)
		})
	}
}

// TestFindServerEnv proves $SCHEMAHOOK_PG_PATH is searched and $SCHEMAHOOK_PG_BIN pins one
// directory: nothing else is considered, not even a better one on the path.
func TestFindServerEnv(t *testing.T) {
	bins := testMajors(t, 2)
	oldest, newest := bins[0], bins[len(bins)-1]
	t.Setenv(EnvBin, "")
	t.Setenv(EnvPath, strings.Join(dirsOf(bins), string(filepath.ListSeparator)))
	for _, b := range bins {
		got, err := FindServer(b.Major)
		require.NoError(t, err)
		assert.Equal(t, b, got)
	}

	t.Setenv(EnvBin, newest.Dir)
	got, err := FindServer(oldest.Major)
	require.NoError(t, err)
	assert.Equal(t, newest, got, "pinned newer major: the fallback")
	t.Setenv(EnvBin, oldest.Dir)
	_, err = FindServer(newest.Major)
	require.Error(t, err, "pinned older major: refused although the path has the right one")
	assert.Contains(t, err.Error(), "$SCHEMAHOOK_PG_BIN="+oldest.Dir)
	assert.Contains(t, err.Error(), "(major "+strconv.Itoa(oldest.Major)+")")
}

// TestFindClient proves the choice of pg_dump and psql on real ones: the newest of a major
// at least the target's, else a refusal naming what was found.
func TestFindClient(t *testing.T) {
	client := os.Getenv(EnvClientBin)
	if client == "" {
		t.Skip("SCHEMAHOOK_PG_CLIENT_BIN is not set: no client tools to test with (scripts/test.sh sets it)")
	}
	cm, err := progMajor(client, "pg_dump")
	require.NoError(t, err)
	// An older pg_dump: Debian's, next to the server of $SCHEMAHOOK_PG_BIN (scripts/test.sh).
	older := os.Getenv(EnvBin)
	om, err := progMajor(older, "pg_dump")
	if err != nil || om >= cm {
		t.Skipf("no pg_dump older than %d in $SCHEMAHOOK_PG_BIN (%q)", cm, older)
	}
	for _, tc := range []struct {
		name string
		min  int
		dirs []string
		got  string
		errs []string
	}{
		{"newest wins", om, []string{older, client}, client, nil},
		{"newer than the target", om - 1, []string{older}, older, nil},
		{"the target's major", om, []string{older}, older, nil},
		{"too old", om + 1, []string{older}, "", []string{
			"pg_dump and psql of major version " + strconv.Itoa(om+1) + " (the target's) or newer",
			"found only: " + older + " (major " + strconv.Itoa(om) + ")", "SCHEMAHOOK_PG_CLIENT_BIN"}},
		{"none", cm + 1, []string{t.TempDir(), "/nonexistent"}, "", []string{"found none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := findClient(tc.min, tc.dirs, "in the test's dirs")
			checkFound(t, b, err, tc.got, tc.errs)
		})
	}

	// $SCHEMAHOOK_PG_CLIENT_BIN pins: the newer directory passed as near is not considered.
	t.Setenv(EnvClientBin, older)
	_, err = FindClient(om+1, client)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "$SCHEMAHOOK_PG_CLIENT_BIN="+older)
	t.Setenv(EnvClientBin, "")
	b, err := FindClient(om, older, client)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, b.Major, cm, "the newest of the search wins")
}
