// Package enum spells the value lists of flags and schemahook.yaml (formats, transaction
// modes, dev modes, lint levels) in help and messages, so that each list is written once,
// as typed constants in the package that owns it, and the text follows the list.
package enum

import "strings"

// Join joins vs with sep: Join(levels, "|") is "error|warn|off".
func Join[T ~string](vs []T, sep string) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, sep)
}

// Or joins vs as a choice: "error, warn or off".
func Or[T ~string](vs []T) string {
	if len(vs) < 2 {
		return Join(vs, "")
	}
	return Join(vs[:len(vs)-1], ", ") + " or " + string(vs[len(vs)-1])
}
