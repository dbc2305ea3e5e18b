package lint

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/schemahook/schemahook/migrations"
)

// directivePrefix starts an allow directive in a -- comment:
//
//	-- schemahook:allow SH102 the column has been unused since v3
const directivePrefix = "schemahook:allow"

// directive is one allow comment of a file.
type directive struct {
	line, col int // of the "--"
	code      string
	reason    string
	claimed   bool
}

// fileDirectives are a file's directives by line (1-based, in File.Content).
type fileDirectives struct {
	byLine    map[int]*directive
	lineStart []int // byte offset of each line's start in File.Content
}

// readDirectives finds every line of the Up section that is a -- comment holding a
// directive. Lines are looked at, not SQL: a directive must be a whole comment line.
func readDirectives(f *migrations.File) *fileDirectives {
	d := &fileDirectives{byLine: map[int]*directive{}, lineStart: []int{0}}
	for i := 0; i < len(f.Content); i++ {
		if f.Content[i] == '\n' {
			d.lineStart = append(d.lineStart, i+1)
		}
	}
	upEnd := f.UpOffset + len(f.Up)
	for ln, start := range d.lineStart {
		if start < f.UpOffset || start >= upEnd {
			continue
		}
		text := d.lineText(f, ln+1)
		trimmed := strings.TrimLeft(text, " \t")
		if !strings.HasPrefix(trimmed, "--") {
			continue
		}
		body := strings.TrimSpace(strings.TrimLeft(trimmed, "-"))
		if !strings.HasPrefix(body, directivePrefix) {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(body, directivePrefix))
		dir := &directive{line: ln + 1, col: 1 + utf8.RuneCountInString(text[:len(text)-len(trimmed)])}
		if len(fields) > 0 {
			dir.code = strings.ToUpper(strings.TrimRight(fields[0], ":,;"))
			dir.reason = strings.Join(fields[1:], " ")
		}
		d.byLine[ln+1] = dir
	}
	return d
}

// lineText is line ln (1-based) of the file without its line break.
func (d *fileDirectives) lineText(f *migrations.File, ln int) string {
	start := d.lineStart[ln-1]
	end := len(f.Content)
	if ln < len(d.lineStart) {
		end = d.lineStart[ln] - 1
	}
	return strings.TrimSuffix(f.Content[start:end], "\r")
}

// lineOf is the 1-based line holding byte offset off of File.Content.
func (d *fileDirectives) lineOf(off int) int {
	lo, hi := 0, len(d.lineStart)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if d.lineStart[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1
}

// covering is the set of codes allowed for one statement.
type covering map[string]bool

func (c covering) allows(code string) bool { return c[code] }

// claim returns the directives on the comment lines directly above the statement whose
// first token is at byte offset first of the file, not reaching back before prevEnd (the
// end of the previous statement). Only directives with a known code and a reason allow.
func (d *fileDirectives) claim(f *migrations.File, first, prevEnd int) covering {
	c := covering{}
	if len(d.byLine) == 0 {
		return c
	}
	for ln := d.lineOf(first) - 1; ln >= 1 && d.lineStart[ln-1] >= prevEnd; ln-- {
		trimmed := strings.TrimSpace(d.lineText(f, ln))
		if !strings.HasPrefix(trimmed, "--") {
			break
		}
		dir, ok := d.byLine[ln]
		if !ok {
			continue
		}
		dir.claimed = true
		if _, known := ruleByCode[dir.code]; known && dir.reason != "" {
			c[dir.code] = true
		}
	}
	return c
}

// findings reports directives that are malformed or cover no statement.
func (d *fileDirectives) findings(f *migrations.File) []Finding {
	var out []Finding
	add := func(dir *directive, code, msg string) {
		out = append(out, Finding{File: f.Name, Line: dir.line, Col: dir.col, Code: code, Message: msg, Hint: ruleByCode[code].Hint})
	}
	for _, dir := range d.byLine {
		switch _, known := ruleByCode[dir.code]; {
		case dir.code == "":
			add(dir, codeNoReason, "schemahook:allow names no rule code and gives no reason")
		case !known:
			add(dir, codeUnknownCode, fmt.Sprintf("schemahook:allow names unknown rule %s", dir.code))
		case dir.reason == "":
			add(dir, codeNoReason, fmt.Sprintf("schemahook:allow %s gives no reason, so it allows nothing", dir.code))
		}
		if !dir.claimed {
			add(dir, codeOrphan, "schemahook:allow is not directly above a statement, so it covers nothing")
		}
	}
	return out
}
