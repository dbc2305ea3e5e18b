package migrations

import "strings"

// CompareVersions orders two versions by value, never lexically: each is split into parts at
// '.' or '_' (Flyway writes 1_2 for 1.2), parts compare as unbounded integers (leading zeros
// do not count), and missing trailing parts count as zero, as Flyway does. So "9" < "10",
// "1.9" < "1.10", and "001" == "1" == "1.0": equal by value means the same version, which Read
// reports as a duplicate. A part that is not all digits compares after numeric ones, lexically
// (Read never produces such versions; the rule only keeps the order total).
// It returns -1, 0 or +1.
func CompareVersions(a, b string) int {
	if len(a) == len(b) && len(a) > 0 && a[0] != '0' && b[0] != '0' && isDigits(a) && isDigits(b) {
		// The usual case (timestamps of one length): one part each, no leading zeros, so
		// value order is text order. Sorting thousands of files compares often.
		return strings.Compare(a, b)
	}
	for {
		x, restA, okA := nextVersionPart(a)
		y, restB, okB := nextVersionPart(b)
		if !okA && !okB {
			return 0
		}
		if !okA {
			x = "0"
		}
		if !okB {
			y = "0"
		}
		if c := comparePart(x, y); c != 0 {
			return c
		}
		a, b = restA, restB
	}
}

// nextVersionPart gives the first part of v (parts are the non-empty runs between '.' and
// '_') and what follows it; ok is false when v holds no more parts. It allocates nothing, as
// sorting compares versions often.
func nextVersionPart(v string) (part, rest string, ok bool) {
	i := 0
	for i < len(v) && (v[i] == '.' || v[i] == '_') {
		i++
	}
	if i == len(v) {
		return "", "", false
	}
	j := i
	for j < len(v) && v[j] != '.' && v[j] != '_' {
		j++
	}
	return v[i:j], v[j:], true
}

func comparePart(x, y string) int {
	dx, dy := isDigits(x), isDigits(y)
	switch {
	case dx && dy:
		x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
		if len(x) != len(y) {
			if len(x) < len(y) {
				return -1
			}
			return 1
		}
		return strings.Compare(x, y)
	case dx:
		return -1
	case dy:
		return 1
	}
	return strings.Compare(x, y)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
