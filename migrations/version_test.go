package migrations

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"9", "10", -1},
		{"10", "9", 1},
		{"1", "1", 0},
		{"001", "1", 0},
		{"1.9", "1.10", -1},
		{"1_2", "1.2", 0},
		{"1.0", "1", 0},
		{"1.0.1", "1", 1},
		{"2", "1.99", 1},
		{"20240101120000", "20240101120001", -1},
		{"99999999999999999999999", "100000000000000000000000", -1}, // beyond uint64
		{"", "1", -1},
		{"1", "1.a", -1}, // non-numeric parts sort after numeric ones
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			require.Equal(t, tt.want, CompareVersions(tt.a, tt.b))
			require.Equal(t, -tt.want, CompareVersions(tt.b, tt.a))
		})
	}
}
