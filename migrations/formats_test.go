package migrations

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The regexps the hand-written name matchers of formats.go stand for.
var (
	reNative  = regexp.MustCompile(`^([^_]*?)(?:_(.+))?\.sql$`)
	rePlain   = regexp.MustCompile(`^([^_]*)_(.+)\.sql$`)
	reDigits  = regexp.MustCompile(`^[0-9]+$`)
	reDotted  = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)*$`)
	nameSeeds = []string{
		"1_a.sql", "20240101120000_create_orders.sql", "1.2_a.sql", "1.2.sql", "1.sql", ".sql", "_.sql", "_a.sql",
		"1_.sql", "1__a.sql", "1_a_b.sql", "1_a.sql.sql", "1_.sql.sql", "1_a\n.sql", "1\n_a.sql", "1\n.sql",
		"1_a.SQL", "1_a.sq", "sql", "", "_", "a_b", "é_é.sql", "\xff_\xfe.sql", "1_a\r.sql", "1..2_a.sql",
		"1._a.sql", ".1_a.sql", "1_a.up.sql", "V1__a.sql", "1_\n.sql", "x.sql_y.sql", "1 _a.sql", "٣_a.sql",
	}
)

func checkNameMatchers(t testing.TB, name string) {
	t.Helper()
	for _, c := range []struct {
		re    *regexp.Regexp
		match func(string) (string, string, bool)
	}{{reNative, matchNative}, {rePlain, matchPlain}} {
		v, d, ok := c.match(name)
		m := c.re.FindStringSubmatch(name)
		require.Equal(t, m != nil, ok, "%s on %q", c.re, name)
		if m != nil {
			require.Equal(t, []string{m[1], m[2]}, []string{v, d}, "%s on %q", c.re, name)
		}
	}
	for _, v := range []string{name, strings.TrimSuffix(name, ".sql")} {
		require.Equal(t, reDigits.MatchString(v), isDigits(v), "digits %q", v)
		require.Equal(t, reDotted.MatchString(v), isDotted(v), "dotted %q", v)
	}
}

func TestNameMatchers(t *testing.T) {
	for _, name := range nameSeeds {
		checkNameMatchers(t, name)
	}
}

func FuzzNameMatchers(f *testing.F) {
	for _, name := range nameSeeds {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) { checkNameMatchers(t, name) })
}

// compareVersionsRef is CompareVersions as first written, splitting with strings.FieldsFunc.
func compareVersionsRef(a, b string) int {
	parts := func(v string) []string {
		return strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '_' })
	}
	pa, pb := parts(a), parts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if c := comparePart(x, y); c != 0 {
			return c
		}
	}
	return 0
}

var versionSeeds = []string{"", "0", "1", "01", "1.0", "1_0", "1.", ".1", "1..2", "1._2", "9", "10", "1.9", "1.10",
	"__", "..", "a", "1.a", "1.2.3", "1.2.3.0.0", "20240101120000", "é.1", "\xff.1", "1.\xff", "001.002", "1.2_3"}

func TestCompareVersionsRef(t *testing.T) {
	for _, a := range versionSeeds {
		for _, b := range versionSeeds {
			require.Equal(t, compareVersionsRef(a, b), CompareVersions(a, b), "%q vs %q", a, b)
		}
	}
}

func FuzzCompareVersions(f *testing.F) {
	f.Add("1.2", "1_2")
	f.Add("1..2", ".1")
	f.Fuzz(func(t *testing.T, a, b string) {
		require.Equal(t, compareVersionsRef(a, b), CompareVersions(a, b), "%q vs %q", a, b)
	})
}

// FuzzMarkerPrefilter: the byte prefilters in front of the marker searches never hide a
// marker the line by line search finds.
func FuzzMarkerPrefilter(f *testing.F) {
	for _, c := range []string{"-- +goose Up\nSELECT 1;\n", "--+GOOSE   up", "-- migrate:up\n", "--MIGRATE:UP transaction:false", "SELECT 'a::b';", "x+gooſe up", "-- +goose Down"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, content string) {
		require.Equal(t, gooseUpLine(content), hasGooseUp(content), "%q", content)
		require.Equal(t, dbmateUpLine(content), hasDbmateUp(content), "%q", content)
	})
}
