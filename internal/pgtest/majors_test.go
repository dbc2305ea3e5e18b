package pgtest

import (
	"testing"

	"github.com/schemahook/schemahook/devdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMajors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []devdb.Bin
		err  string
	}{
		{"18=/b/18 14=/b/14\n16=/b/16 ", []devdb.Bin{{Dir: "/b/14", Major: 14}, {Dir: "/b/16", Major: 16}, {Dir: "/b/18", Major: 18}}, ""},
		{"", nil, ""},
		{"14", nil, `"14" is not MAJOR=BINDIR`},
		{"x=/b", nil, `"x=/b" is not MAJOR=BINDIR`},
		{"14=", nil, `"14=" is not MAJOR=BINDIR`},
	} {
		got, err := ParseMajors(tc.in)
		if tc.err != "" {
			require.Error(t, err, tc.in)
			assert.Contains(t, err.Error(), tc.err)
			assert.Contains(t, err.Error(), EnvMajors)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}
