package lint

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParsePolicy: the one parser of --lint/--policy and the CODE=level overrides.
func TestParsePolicy(t *testing.T) {
	for _, tc := range []struct {
		level   string
		rules   []string
		want    Policy
		wantErr string
	}{
		{"error", nil, Policy{Default: LevelError}, ""},
		{"warning", []string{" sh102 = off"}, Policy{Default: LevelWarn, Rules: map[string]Level{"SH102": LevelOff}}, ""},
		{"loud", nil, Policy{}, `lint policy: lint level "loud": want error, warn or off`},
		{"error", []string{"SH999=off"}, Policy{}, `lint rule "SH999=off": unknown rule code SH999`},
		{"error", []string{"SH102"}, Policy{}, `lint rule "SH102": want CODE=error|warn|off`},
	} {
		got, err := ParsePolicy(tc.level, tc.rules)
		if tc.wantErr != "" {
			require.EqualError(t, err, tc.wantErr)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

// TestLevelValid: config accepts the levels as written; "warning" only through ParseLevel.
func TestLevelValid(t *testing.T) {
	for _, l := range Levels {
		assert.True(t, l.Valid(), l)
	}
	assert.False(t, Level("warning").Valid())
	assert.False(t, Level("").Valid())
}
