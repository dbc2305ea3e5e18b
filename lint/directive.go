package lint

import (
	"fmt"
	"strings"

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
	byLine map[int]*directive
	f      *migrations.File
}

// readDirectives finds every line of the Up section that is a -- comment holding a
// directive. Lines are looked at, not SQL: a directive must be a whole comment line.
func readDirectives(f *migrations.File) *fileDirectives {
	d := &fileDirectives{byLine: map[int]*directive{}, f: f}
	upEnd := f.UpOffset + len(f.Up)
	for ln := 1; ln <= f.LineCount(); ln++ {
		start, text := f.Line(ln)
		if start < f.UpOffset || start >= upEnd {
			continue
		}
		trimmed := strings.TrimLeft(text, " \t")
		if !strings.HasPrefix(trimmed, "--") {
			continue
		}
		body := strings.TrimSpace(strings.TrimLeft(trimmed, "-"))
		if !strings.HasPrefix(body, directivePrefix) {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(body, directivePrefix))
		_, col := f.Pos(start + len(text) - len(trimmed))
		dir := &directive{line: ln, col: col}
		if len(fields) > 0 {
			dir.code = strings.ToUpper(strings.TrimRight(fields[0], ":,;"))
			dir.reason = strings.Join(fields[1:], " ")
		}
		d.byLine[ln] = dir
	}
	return d
}

// covering is the set of codes allowed for one statement.
type covering map[string]bool

func (c covering) allows(code string) bool { return c[code] }

// claim returns the directives on the comment lines directly above the statement whose
// first token is at byte offset first of the file, not reaching back before prevEnd (the
// end of the previous statement). Only directives with a known code and a reason allow.
func (d *fileDirectives) claim(first, prevEnd int) covering {
	c := covering{}
	if len(d.byLine) == 0 {
		return c
	}
	for ln := d.f.LineAt(first) - 1; ln >= 1; ln-- {
		start, text := d.f.Line(ln)
		if start < prevEnd {
			break
		}
		trimmed := strings.TrimSpace(text)
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
