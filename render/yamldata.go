package render

import (
	"bufio"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	yaml "go.yaml.in/yaml/v2"
)

// dataYAML is a ConfigMap's data map as the "data:" entry of a block mapping, byte for byte
// what yaml.v2 writes for map[string]any{"data": data}, planned by planData and written by
// write straight to the output, once per document that holds the map: the migration files
// are most of a render's bytes, and a buffer of their YAML cost a page fault per 4 KiB.
// yaml.v2 spends most of generate's time emitting them one character at a time; the usual
// entry (a plain key, a multi-line value yaml.v2 writes as a literal block scalar) is
// written here directly, and any other entry (a key yaml.v2 would quote, a value with a
// tab, CR, trailing space or no newline, invalid UTF-8, ...) is encoded by yaml.v2 when
// planned, one entry at a time: an entry of a block mapping encodes the same alone as among
// the others. A map with a value that is not a string, or none, goes through yaml.v2 whole.
type dataYAML struct {
	whole  []byte // yaml.v2's encoding of the whole entry, when it does all of it
	data   map[string]any
	keys   []string          // in yaml.v2's order
	others map[string][]byte // yaml.v2's encoding of the entries not written as literal blocks
}

// planData checks and orders data, encoding with yaml.v2 what write does not write itself,
// so that an error shows before anything is written.
func planData(data map[string]any) (*dataYAML, error) {
	whole := len(data) == 0
	for _, v := range data {
		if _, ok := v.(string); !ok {
			whole = true
			break
		}
	}
	if whole {
		b, err := yaml.Marshal(map[string]any{"data": normalize(data)})
		return &dataYAML{whole: b}, err
	}
	d := &dataYAML{data: data, keys: sortedKeys(data)}
	for _, k := range d.keys {
		v := data[k].(string)
		if plainKey(k) && literalBlock(v) {
			continue
		}
		entry, err := yaml.Marshal(map[string]map[string]string{"data": {k: v}})
		if err != nil {
			return nil, err
		}
		if d.others == nil {
			d.others = map[string][]byte{}
		}
		d.others[k] = entry[len("data:\n"):]
	}
	return d, nil
}

// write writes the entry to w, whose error Flush reports.
func (d *dataYAML) write(w *bufio.Writer) {
	if d.whole != nil {
		w.Write(d.whole)
		return
	}
	w.WriteString("data:\n")
	for _, k := range d.keys {
		if entry, ok := d.others[k]; ok {
			w.Write(entry)
			continue
		}
		writeLiteralEntry(w, k, d.data[k].(string))
	}
}

// writeLiteralEntry writes "  key: |" and the value's lines indented by four, as yaml.v2's
// emitter does: an indentation indicator when the value starts with a space or a line
// break, "-" when it does not end in a line break, "+" when it ends in more than one; empty
// lines carry no indentation.
func writeLiteralEntry(buf *bufio.Writer, key, value string) {
	buf.WriteString("  ")
	buf.WriteString(key)
	buf.WriteString(": |")
	if value[0] == ' ' || value[0] == '\n' {
		buf.WriteByte('2')
	}
	switch {
	case value[len(value)-1] != '\n':
		buf.WriteByte('-')
	case len(value) == 1 || value[len(value)-2] == '\n':
		buf.WriteByte('+')
	}
	buf.WriteByte('\n')
	for rest := value; rest != ""; {
		line, after, found := strings.Cut(rest, "\n")
		if line != "" {
			buf.WriteString("    ")
			buf.WriteString(line)
		}
		buf.WriteByte('\n')
		if !found {
			break
		}
		rest = after
	}
}

// plainKey reports whether yaml.v2 writes key as it is (a plain simple key). It holds for
// the usual file names and is conservative: a key it refuses still encodes right, through
// yaml.v2. A plain key is at most 128 bytes (longer ones become "? " complex keys), of
// ConfigMap key characters, and does not resolve to anything but a string: not a word of
// YAML 1.1 (true, no, null, ...) and, when it starts like a number (a digit, sign or dot),
// it has a letter no number, date or float syntax uses.
func plainKey(key string) bool {
	if key == "" || len(key) > 128 || strings.HasPrefix(key, "---") || strings.HasPrefix(key, "...") {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '-' || c == '.' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	if yamlWords[key] {
		return false
	}
	if c := key[0]; c == '-' || c == '.' || c >= '0' && c <= '9' {
		return strings.ContainsFunc(key, func(r rune) bool {
			return unicode.IsLetter(r) && !strings.ContainsRune("abcdefABCDEFoOxX", r)
		})
	}
	return true
}

// yamlWords are the plain scalars yaml.v2 resolves to booleans, null or special floats by
// name (its resolveMap).
var yamlWords = map[string]bool{}

func init() {
	for _, w := range []string{"y", "yes", "true", "on", "n", "no", "false", "off", "null"} {
		yamlWords[w] = true
		yamlWords[strings.ToUpper(w[:1])+w[1:]] = true
		yamlWords[strings.ToUpper(w)] = true
	}
	for _, w := range []string{".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF"} {
		yamlWords[w], yamlWords["+"+w], yamlWords["-"+w] = true, true, true
	}
}

// literalBlock reports whether yaml.v2 writes value as a literal block scalar: it has a
// line break and its emitter allows a block scalar (valid UTF-8, only printable characters
// and "\n" as line break, no space at the end of a line or of the value). Tabs, CRs, other
// control characters, LS/PS/NEL breaks, a BOM and characters outside the Basic Multilingual
// Plane make yaml.v2 choose a double-quoted scalar (or !!binary for invalid UTF-8), which
// planData leaves to it.
func literalBlock(value string) bool {
	if !strings.Contains(value, "\n") || value[len(value)-1] == ' ' || strings.Contains(value, " \n") {
		return false
	}
	for i := 0; i < len(value); {
		c := value[i]
		if c == '\n' || c >= 0x20 && c <= 0x7e {
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(value[i:])
		if r == utf8.RuneError || !(r >= 0xa0 && r <= 0xd7ff && r != 0x2028 && r != 0x2029 || r >= 0xe000 && r <= 0xfffd && r != 0xfeff) {
			return false
		}
		i += w
	}
	return true
}

// sortedKeys are the keys of data in yaml.v2's order (its keyList.Less for two strings):
// letters before other characters, runs of digits by their value. That order is not total
// for some key sets ("001", "0b", "1_" form a cycle), where yaml.v2's result depends on Go's
// map order; sorting bytewise first makes it the same on every run.
func sortedKeys(data map[string]any) []string {
	keys := make([]string, 0, len(data)) // slices.Sorted(maps.Keys) grows it step by step
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ascii := !slices.ContainsFunc(keys, func(k string) bool { return !isASCII(k) })
	slices.SortStableFunc(keys, func(a, b string) int {
		var less, greater bool
		if ascii {
			// A rune is a byte: compare the strings' bytes where they lie.
			ab, bb := unsafe.Slice(unsafe.StringData(a), len(a)), unsafe.Slice(unsafe.StringData(b), len(b))
			less, greater = yamlKeyLess(ab, bb), yamlKeyLess(bb, ab)
		} else {
			ar, br := []rune(a), []rune(b)
			less, greater = yamlKeyLess(ar, br), yamlKeyLess(br, ar)
		}
		switch {
		case less:
			return -1
		case greater:
			return 1
		}
		return 0
	})
	return keys
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// yamlKeyLess is yaml.v2's keyList.Less for two strings, as runes (or as bytes, for
// ASCII strings).
func yamlKeyLess[C byte | rune](ar, br []C) bool {
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al := unicode.IsLetter(rune(ar[i]))
		bl := unicode.IsLetter(rune(br[i]))
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(rune(ar[j])); j-- {
				if ar[j] != '0' {
					an = 1
					bn = 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(rune(ar[ai])); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(rune(br[bi])); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}
