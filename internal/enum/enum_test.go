package enum

import "testing"

type level string

func TestJoin(t *testing.T) {
	for _, tc := range []struct {
		vs       []level
		join, or string
	}{
		{[]level{"error", "warn", "off"}, "error|warn|off", "error, warn or off"},
		{[]level{"file", "all"}, "file|all", "file or all"},
		{[]level{"text"}, "text", "text"},
		{nil, "", ""},
	} {
		if got := Join(tc.vs, "|"); got != tc.join {
			t.Errorf("Join(%v) = %q, want %q", tc.vs, got, tc.join)
		}
		if got := Or(tc.vs); got != tc.or {
			t.Errorf("Or(%v) = %q, want %q", tc.vs, got, tc.or)
		}
	}
}
