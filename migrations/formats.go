package migrations

import (
	"crypto/sha256"
	"fmt"
	"iter"
	"regexp"
	"strings"
	"sync"

	"github.com/schemahook/schemahook/failure"
)

// File name shapes per format. Versions are digits (Flyway: digits joined by '.' or '_').
// The native and goose/dbmate shapes, the most common, are matched by hand (matchNative,
// matchPlain, isDotted, isDigits; the regexps they stand for are in formats_test.go).
// The regexps compile on first use: a process that never reads such names (a render of a
// native directory, `schemahook version`) does not pay for them at start-up.
var (
	reGMUp    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^_]*)_(.+)\.(up|down)\.sql$`) })
	reFlyway  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([VU])([^_]*(?:_[^_]+)*?)__(.+)\.sql$`) })
	reFlywayR = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^R__(.+)\.sql$`) })
	// Flyway's SQL callbacks: beforeMigrate.sql, afterEachMigrate__grants.sql, ...
	reFlywayCallback = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(before|after)[A-Z][A-Za-z]*(__.*)?\.sql$`) })
	reFlyVer         = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(?:[._][0-9]+)*$`) })
)

// source is a .sql file as read, before its format gives it meaning.
type source struct {
	name    string
	content string
	sum     *[sha256.Size]byte     // of content when already taken, else nil
	hex     *[2 * sha256.Size]byte // sum in hex when already taken, else nil
	facts   textFacts              // of content, when known
	known   bool                   // facts are set
}

// textFacts are what Read needs of a file's text before it knows the format: taken by the
// goroutine that read the file, while the bytes are in its cache, so that what is left to
// do in order over thousands of files is little.
type textFacts struct {
	err           *failure.Error // the text is not UTF-8 SQL text (checkText), or starts with a byte order mark
	goose, dbmate bool           // hasGooseUp, hasDbmateUp
}

// factsOf takes the textFacts of content.
func factsOf(content string) textFacts {
	t := textFacts{err: checkText(content), goose: hasGooseUp(content), dbmate: hasDbmateUp(content)}
	if t.err == nil && strings.HasPrefix(content, "\ufeff") {
		// Postgres would read the mark as part of the first token, and it hides markers.
		t.err = &failure.Error{Line: 1, Col: 1, Rule: RuleEncoding, Msg: "file starts with a UTF-8 byte order mark; save it without one"}
	}
	return t
}

// factsOf is s's textFacts, taken now if Read did not take them.
func (s *source) factsOf() *textFacts {
	if !s.known {
		s.facts, s.known = factsOf(s.content), true
	}
	return &s.facts
}

// detectFormat picks the format of a directory read with FormatAuto. Evidence is weighed
// from the most to the least specific, so a directory is never mistaken for a looser format:
//  1. an atlas.sum file: Atlas (FormatNative, with its txmode marker);
//  2. goose markers (a "-- +goose Up" line in any file): goose;
//  3. dbmate markers (a "-- migrate:up" line): dbmate;
//  4. a name ending in .up.sql or .down.sql: golang-migrate;
//  5. a Flyway name (V<version>__, U<version>__ or R__): Flyway;
//  6. otherwise schemahook's native <version>_<name>.sql.
//
// Goose and dbmate share the native names, so only their markers tell them apart: markers
// that are present win. A directory with both goose and dbmate markers is ambiguous and an
// error naming one file of each. Once chosen, the format is strict: a .sql file that does not
// fit it is an error rather than silently skipped.
func detectFormat(files []source, atlasSum bool) (Format, *failure.Error) {
	if atlasSum {
		return FormatNative, nil
	}
	var goose, dbmate, gm, flyway string
	for i := range files {
		f := &files[i]
		if goose == "" || dbmate == "" {
			facts := f.factsOf()
			if goose == "" && facts.goose {
				goose = f.name
			}
			if dbmate == "" && facts.dbmate {
				dbmate = f.name
			}
		}
		if gm == "" && (strings.HasSuffix(f.name, ".up.sql") || strings.HasSuffix(f.name, ".down.sql")) {
			gm = f.name
		}
		// Both regexps are anchored at V, U or R: other names need not run them.
		if flyway == "" && f.name != "" && strings.IndexByte("VUR", f.name[0]) >= 0 &&
			(reFlyway().MatchString(f.name) || reFlywayR().MatchString(f.name)) {
			flyway = f.name
		}
	}
	switch {
	case goose != "" && dbmate != "":
		return "", &failure.Error{File: dbmate, Rule: "ambiguous-format",
			Msg: fmt.Sprintf("has dbmate markers while %s has goose markers; set the format explicitly", goose)}
	case goose != "":
		return FormatGoose, nil
	case dbmate != "":
		return FormatDbmate, nil
	case gm != "":
		return FormatGolangMigrate, nil
	case flyway != "":
		return FormatFlyway, nil
	}
	return FormatNative, nil
}

// line is one line of a file with the byte offsets where it starts and where the next begins.
type line struct {
	text       string // without the line break
	start, end int
	num        int // 1-based
}

// lines yields the lines of content in order, without building them all first.
func lines(content string) iter.Seq[line] {
	return func(yield func(line) bool) {
		for start, num := 0, 1; start < len(content); num++ {
			end := strings.IndexByte(content[start:], '\n')
			if end < 0 {
				end = len(content)
			} else {
				end += start + 1
			}
			if !yield(line{text: strings.TrimRight(content[start:end], "\r\n"), start: start, end: end, num: num}) {
				return
			}
			start = end
		}
	}
}

// isSQLLine reports whether a line holds something other than blanks or a -- comment.
func isSQLLine(text string) bool {
	t := strings.TrimSpace(text)
	return t != "" && !strings.HasPrefix(t, "--")
}

// gooseAnnotation returns the lowercased annotation of a "-- +goose X" line, or "".
func gooseAnnotation(text string) (string, bool) {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "--") {
		return "", false
	}
	t = strings.TrimSpace(t[2:])
	if len(t) < 6 || !strings.EqualFold(t[:6], "+goose") {
		return "", false
	}
	return strings.ToLower(strings.Join(strings.Fields(t[6:]), " ")), true
}

func hasGooseUp(content string) bool {
	return holdsFold(content, '+', "goose") && gooseUpLine(content)
}

// gooseUpLine is hasGooseUp without the prefilter: a "-- +goose Up" line.
func gooseUpLine(content string) bool {
	for l := range strings.Lines(content) {
		if a, ok := gooseAnnotation(l); ok && a == "up" {
			return true
		}
	}
	return false
}

// holdsFold reports whether s holds the byte c followed by rest (ASCII, any case): a file
// without it has no such marker, which spares looking at each of its lines.
func holdsFold(s string, c byte, rest string) bool {
	for {
		i := strings.IndexByte(s, c)
		if i < 0 {
			return false
		}
		s = s[i+1:]
		if len(s) >= len(rest) && strings.EqualFold(s[:len(rest)], rest) {
			return true
		}
	}
}

// holdsFoldBefore reports whether s holds the byte c right after before (ASCII, any case):
// holdsFold looking back from c, a byte that is rarer than before's first.
func holdsFoldBefore(s string, c byte, before string) bool {
	for i := len(before); i < len(s); i++ {
		j := strings.IndexByte(s[i:], c)
		if j < 0 {
			return false
		}
		i += j
		if strings.EqualFold(s[i-len(before):i], before) {
			return true
		}
	}
	return false
}

// reDbmate matches a "-- migrate:up [opt:val ...]" or "-- migrate:down" line.
var reDbmate = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^--\s*migrate:(up|down)(?:\s+(.*))?$`) })

func hasDbmateUp(content string) bool {
	return holdsFoldBefore(content, ':', "migrate") && dbmateUpLine(content)
}

// dbmateUpLine is hasDbmateUp without the prefilter: a "-- migrate:up" line.
func dbmateUpLine(content string) bool {
	for l := range strings.Lines(content) {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "--") {
			continue
		}
		if m := reDbmate().FindStringSubmatch(t); m != nil && strings.EqualFold(m[1], "up") {
			return true
		}
	}
	return false
}

// parseName gives a file its version and description from its name in format f, and its
// kind: "up", "repeatable" (Flyway R__), or "down"/"undo" for golang-migrate's .down.sql and
// Flyway's U files, which attach to the file of the same version.
func parseName(f Format, name string) (version, desc, kind string, err *failure.Error) {
	bad := func(shape string) *failure.Error {
		return &failure.Error{File: name, Rule: "file-name", Msg: fmt.Sprintf("name does not fit the %s format %s", f, shape)}
	}
	badVersion := func(v, want string) *failure.Error {
		return &failure.Error{File: name, Rule: "version", Msg: fmt.Sprintf("version %q is not %s", v, want)}
	}
	switch f {
	case FormatNative, FormatGoose, FormatDbmate:
		// Only schemahook's own format takes dotted versions (1.2_x.sql).
		match, valid, want := matchPlain, isDigits, "a number"
		if f == FormatNative {
			match, valid, want = matchNative, isDotted, "a number or dotted numbers"
		}
		v, d, ok := match(name)
		if !ok || v == "" {
			return "", "", "", bad(`"<version>_<name>.sql"`)
		}
		if !valid(v) {
			return "", "", "", badVersion(v, want)
		}
		return v, d, "up", nil
	case FormatGolangMigrate:
		m := reGMUp().FindStringSubmatch(name)
		if m == nil || m[1] == "" {
			return "", "", "", bad(`"<version>_<name>.up.sql" or ".down.sql"`)
		}
		if !isDigits(m[1]) {
			return "", "", "", badVersion(m[1], "a number")
		}
		return m[1], m[2], m[3], nil
	case FormatFlyway:
		if m := reFlywayR().FindStringSubmatch(name); m != nil {
			return "", strings.ReplaceAll(m[1], "_", " "), "repeatable", nil
		}
		if reFlywayCallback().MatchString(name) {
			return "", "", "", &failure.Error{File: name, Rule: "flyway-callback", Msg: "Flyway callbacks are not supported: schemahook runs only V and R migrations; make it a migration"}
		}
		m := reFlyway().FindStringSubmatch(name)
		if m == nil || m[2] == "" {
			return "", "", "", bad(`"V<version>__<description>.sql", "U<version>__<description>.sql" or "R__<description>.sql"`)
		}
		if !reFlyVer().MatchString(m[2]) {
			return "", "", "", badVersion(m[2], "digits separated by '.' or '_'")
		}
		kind := "up"
		if m[1] == "U" {
			kind = "undo"
		}
		// Flyway records 1_2 as 1.2; so do we, so a rename between the two is no new version.
		return strings.ReplaceAll(m[2], "_", "."), strings.ReplaceAll(m[3], "_", " "), kind, nil
	}
	return "", "", "", &failure.Error{File: name, Rule: RuleUnknownFormat, Msg: fmt.Sprintf("unknown format %q", f)}
}

// matchNative is reNative.FindStringSubmatch(name) without the regexp, which dominated
// reading a large directory: ok is whether it matches, v and d are its groups 1 and 2.
// Group 1 takes no '_', so it ends at the first '_' (then ".+", without a line break, runs
// to the ".sql" that ends the name) or, in a name without '_', at that ".sql".
func matchNative(name string) (v, d string, ok bool) {
	if !strings.Contains(name, "_") {
		base, found := strings.CutSuffix(name, ".sql")
		return base, "", found
	}
	return matchPlain(name)
}

// matchPlain is rePlain.FindStringSubmatch(name) without the regexp, like matchNative.
func matchPlain(name string) (v, d string, ok bool) {
	u := strings.IndexByte(name, '_')
	if u < 0 {
		return "", "", false
	}
	d, found := strings.CutSuffix(name[u+1:], ".sql")
	if !found || d == "" || strings.Contains(d, "\n") {
		return "", "", false
	}
	return name[:u], d, true
}

// isDotted is reDotted.MatchString: digits, or groups of digits joined by single dots.
func isDotted(v string) bool {
	for {
		i := strings.IndexByte(v, '.')
		if i < 0 {
			return isDigits(v)
		}
		if !isDigits(v[:i]) {
			return false
		}
		v = v[i+1:]
	}
}

// parseAtlasMarkers reads Atlas's directives ("-- atlas:txmode none"), which Atlas takes
// only from the file's header: the comment lines before the first SQL. Up starts after the
// last directive, so the directive does not become part of the first statement.
func parseAtlasMarkers(f *File) *failure.Error {
	f.Up, f.UpOffset = f.Content, 0
	for l := range lines(f.Content) {
		if isSQLLine(l.text) {
			break
		}
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l.text), "--"))
		if !strings.HasPrefix(rest, "atlas:txmode") {
			continue
		}
		switch mode := strings.TrimSpace(strings.TrimPrefix(rest, "atlas:txmode")); mode {
		case "none":
			f.NoTx = true
		case "file", "all":
		default:
			return &failure.Error{File: f.Name, Line: l.num, Rule: "atlas-txmode", Msg: fmt.Sprintf("unknown atlas:txmode %q (want none, file or all)", mode)}
		}
		f.Up, f.UpOffset = f.Content[l.end:], l.end
	}
	return nil
}

// parseDbmate finds the -- migrate:up and -- migrate:down sections.
func parseDbmate(f *File) *failure.Error {
	upAt, downAt := -1, -1
	upEnd := len(f.Content)
	for l := range lines(f.Content) {
		var m []string
		if t := strings.TrimSpace(l.text); strings.HasPrefix(t, "--") { // reDbmate needs it
			m = reDbmate().FindStringSubmatch(t)
		}
		if m == nil {
			if upAt < 0 && downAt < 0 && isSQLLine(l.text) {
				return &failure.Error{File: f.Name, Line: l.num, Rule: "dbmate-sql-outside-block", Msg: "SQL before \"-- migrate:up\"; dbmate runs only the up and down sections"}
			}
			continue
		}
		dir := strings.ToLower(m[1])
		noTx := false
		for _, opt := range strings.Fields(m[2]) {
			switch strings.ToLower(opt) {
			case "transaction:false":
				noTx = true
			case "transaction:true":
			default:
				return &failure.Error{File: f.Name, Line: l.num, Rule: "dbmate-option", Msg: fmt.Sprintf("unknown dbmate option %q (want transaction:false or transaction:true)", opt)}
			}
		}
		switch {
		case dir == "up" && upAt >= 0:
			return &failure.Error{File: f.Name, Line: l.num, Rule: "dbmate-marker", Msg: "second \"-- migrate:up\""}
		case dir == "down" && downAt >= 0:
			return &failure.Error{File: f.Name, Line: l.num, Rule: "dbmate-marker", Msg: "second \"-- migrate:down\""}
		case dir == "down" && upAt < 0:
			return &failure.Error{File: f.Name, Line: l.num, Rule: "dbmate-marker", Msg: "\"-- migrate:down\" before \"-- migrate:up\""}
		case dir == "up":
			upAt, f.NoTx = l.end, noTx
		default:
			downAt, upEnd = l.end, l.start
		}
	}
	if upAt < 0 {
		return &failure.Error{File: f.Name, Rule: "dbmate-missing-up", Msg: "no \"-- migrate:up\" line; dbmate files need one"}
	}
	f.Up, f.UpOffset = f.Content[upAt:upEnd], upAt
	if downAt >= 0 {
		f.Down = f.Content[downAt:]
	}
	return nil
}

// gooseBlock is a StatementBegin/End block of a goose Up section: one statement, byte-exact.
// next is where the text after its StatementEnd line begins.
type gooseBlock struct{ start, end, next int }

// parseGoose finds the Up and Down sections, the StatementBegin/End blocks of Up and the
// NO TRANSACTION marker, following goose's own annotation rules (case-insensitive).
func parseGoose(f *File) ([]gooseBlock, *failure.Error) {
	const (
		before = iota
		inUp
		inDown
	)
	state := before
	var blocks []gooseBlock
	blockAt, blockLine := -1, 0
	upAt, upEnd := -1, len(f.Content)
	for l := range lines(f.Content) {
		a, ok := gooseAnnotation(l.text)
		if !ok {
			if state == before && isSQLLine(l.text) {
				return nil, &failure.Error{File: f.Name, Line: l.num, Rule: "goose-sql-before-up", Msg: "SQL before \"-- +goose Up\""}
			}
			continue
		}
		bad := func(msg string) *failure.Error {
			return &failure.Error{File: f.Name, Line: l.num, Rule: "goose-annotation", Msg: msg}
		}
		switch a {
		case "up":
			if state != before {
				return nil, bad("second \"-- +goose Up\"")
			}
			state, upAt = inUp, l.end
		case "down":
			if state == before {
				return nil, bad("\"-- +goose Down\" before \"-- +goose Up\"")
			}
			if state == inDown {
				return nil, bad("second \"-- +goose Down\"")
			}
			if blockAt >= 0 {
				return nil, bad("\"-- +goose Down\" inside a StatementBegin block")
			}
			state, upEnd = inDown, l.start
			f.Down = f.Content[l.end:]
		case "statementbegin":
			if state == before {
				return nil, bad("StatementBegin before \"-- +goose Up\"")
			}
			if blockAt >= 0 {
				return nil, bad(fmt.Sprintf("StatementBegin inside the block opened at line %d", blockLine))
			}
			blockAt, blockLine = l.end, l.num
		case "statementend":
			if blockAt < 0 {
				return nil, bad("StatementEnd without StatementBegin")
			}
			if state == inUp {
				blocks = append(blocks, gooseBlock{blockAt, l.start, l.end})
			}
			blockAt = -1
		case "no transaction":
			f.NoTx = true
		case "envsub on", "envsub off":
			return nil, &failure.Error{File: f.Name, Line: l.num, Rule: "goose-envsub", Msg: "goose ENVSUB is not supported: the SQL must not depend on the environment it renders in"}
		default:
			return nil, bad(fmt.Sprintf("unknown goose annotation %q", a))
		}
	}
	if blockAt >= 0 {
		return nil, &failure.Error{File: f.Name, Line: blockLine, Rule: "goose-annotation", Msg: "StatementBegin without StatementEnd"}
	}
	if upAt < 0 {
		return nil, &failure.Error{File: f.Name, Rule: "goose-missing-up", Msg: "no \"-- +goose Up\" line; goose files need one"}
	}
	f.Up, f.UpOffset = f.Content[upAt:upEnd], upAt
	return blocks, nil
}
