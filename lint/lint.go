// Package lint finds migrations that would destroy data, break running code or lock a busy
// table, before they reach a database. It reads statements through pg_query_go, the real
// Postgres parser, so what it sees is what Postgres will run.
package lint

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/migrations"
)

// Level is how seriously a rule is taken: an error blocks, a warning is reported, off is
// silent. It is the one level type: the policy of a lint run, of schemahook.yaml's
// spec.lint and of the migrate and lint commands' flags.
type Level string

// The levels, from strictest to quietest.
const (
	LevelError Level = "error"
	LevelWarn  Level = "warn"
	LevelOff   Level = "off"
)

// Levels lists the levels as they are written, strictest first.
var Levels = []Level{LevelError, LevelWarn, LevelOff}

// Valid reports whether l is one of Levels as written (without ParseLevel's "warning").
func (l Level) Valid() bool { return slices.Contains(Levels, l) }

// UnmarshalJSON accepts a string, or false for "off": YAML reads an unquoted off as false,
// and `policy: off` must mean what it says. The value is checked by Valid, not here, so
// a config can name the field of a bad value.
func (l *Level) UnmarshalJSON(b []byte) error {
	if string(b) == "false" {
		*l = LevelOff
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("invalid value %s: want %s", b, enum.Or(Levels))
	}
	*l = Level(s)
	return nil
}

// ParseLevel reads a level as written in a flag or schemahook.yaml. "warning" is accepted
// for "warn" since SARIF and the finding severities spell it that way.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "error":
		return LevelError, nil
	case "warn", "warning":
		return LevelWarn, nil
	case "off":
		return LevelOff, nil
	}
	return "", fmt.Errorf("lint level %q: want %s", s, enum.Or(Levels))
}

func (l Level) rank() int {
	switch l {
	case LevelError:
		return 2
	case LevelWarn:
		return 1
	}
	return 0
}

// Policy decides which findings block. Default caps every rule: under "error" each rule
// keeps its own default level, under "warn" nothing blocks, under "off" nothing is linted.
// Rules overrides single rules by code and wins over Default, so a team can keep one rule
// blocking under a "warn" policy. The zero Policy means Default "error".
type Policy struct {
	Default Level
	Rules   map[string]Level
}

// Options tune a lint run.
type Options struct {
	Policy Policy
	// LockTimeout is true when the runtime sets lock_timeout itself (config apply.lockTimeout),
	// so a lock-taking statement cannot wait forever even if its file sets none.
	LockTimeout bool
	// Existing lists the tables known to exist before the pending files (from a dev replay),
	// as qualified lower-case names ("public.orders"; an unqualified name means public).
	// Nil derives them from the earlier files. Tables the migrations never created count as
	// existing either way; this mainly tells whether CREATE TABLE IF NOT EXISTS made a table.
	Existing map[string]bool
	// Catalog is what the hook Job read from the dev database and the target (volatility,
	// column types, search_path, table sizes); nil lints from the files alone.
	Catalog *Catalog
	// SmallTable, when set, downgrades lock-heavy errors on existing tables the catalog
	// shows to be small to warnings (config spec.lint.smallTable).
	SmallTable *SmallTable
	// StatementByStatement is true when the runtime runs every file statement by statement
	// (config apply.txMode none), so even a file that could be one transaction is not.
	StatementByStatement bool
}

// Severities of a finding, spelled as SARIF spells them.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Finding is one problem at one place in a file.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
	// Table is the existing table the finding is about, when the statement works on one.
	Table string `json:"table,omitempty"`
	// Rows (estimated) and Bytes are the table's size on the target, in the hook Job only.
	Rows  *int64 `json:"rows,omitempty"`
	Bytes *int64 `json:"bytes,omitempty"`
	// SmallTable is true when the small-table policy downgraded the finding to a warning.
	SmallTable bool `json:"smallTable,omitempty"`

	unsure bool // a guess the files alone cannot settle: never more than a warning
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s %s", f.File, f.Line, f.Col, f.Code, f.Message)
	if f.Hint != "" {
		s += " (" + f.Hint + ")"
	}
	return s
}

// Result is the outcome of a lint run. Blocked is true when any finding is an error.
type Result struct {
	Findings []Finding `json:"findings"`
	Blocked  bool      `json:"blocked"`
}

// Files lints the pending files, in order. The earlier files (already applied, or older than
// the range being linted) are not linted: they only tell which tables exist, so a rule can
// tell an existing busy table from one created by the pending set itself.
func Files(earlier, pending []*migrations.File, opts Options) Result {
	res := Result{Findings: []Finding{}}
	if opts.Policy.Default == LevelOff && len(opts.Policy.Rules) == 0 {
		return res
	}
	existing := opts.Existing
	if existing == nil && opts.Catalog != nil {
		existing = map[string]bool{}
		for t := range opts.Catalog.Tables {
			existing[t] = true
		}
	}
	st := newSchema(existing)
	st.cat = opts.Catalog
	for _, f := range earlier {
		st.replay(f)
	}
	st.pending = true
	st.path = nil // the pending files run in a new session
	for _, f := range pending {
		for _, fd := range lintFile(st, f, opts) {
			lvl := opts.Policy.level(fd.Code)
			if lvl == LevelOff {
				continue
			}
			lvl = opts.sized(&fd, lvl)
			fd.Severity = SeverityWarning
			if lvl == LevelError {
				fd.Severity = SeverityError
				res.Blocked = true
			}
			res.Findings = append(res.Findings, fd)
		}
	}
	return res
}

// level is the effective level of a rule under the policy.
func (p Policy) level(code string) Level {
	if l, ok := p.Rules[code]; ok {
		return l
	}
	def := p.Default
	if def == "" {
		def = LevelError
	}
	r, ok := ruleByCode[code]
	if !ok {
		return def
	}
	if r.Default.rank() < def.rank() {
		return r.Default
	}
	return def
}

// sortFindings orders one file's findings by position, then code, so output is stable.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Code < b.Code
	})
}

// ParseRule reads a per-rule override as written on the command line, "SH102=warn". The
// code must be a known rule, so a typo does not silently leave a rule at its default.
func ParseRule(s string) (code string, lvl Level, err error) {
	c, l, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fmt.Errorf("lint rule %q: want CODE=%s", s, enum.Join(Levels, "|"))
	}
	code = strings.ToUpper(strings.TrimSpace(c))
	if _, known := ruleByCode[code]; !known {
		return "", "", fmt.Errorf("lint rule %q: unknown rule code %s", s, code)
	}
	lvl, err = ParseLevel(strings.TrimSpace(l))
	if err != nil {
		return "", "", fmt.Errorf("lint rule %q: %w", s, err)
	}
	return code, lvl, nil
}

// ParsePolicy reads the overall level and the CODE=level overrides as the commands take
// them (--lint or --policy, and --lint-rule or --rule, already merged with
// schemahook.yaml's), once for a run.
func ParsePolicy(level string, rules []string) (Policy, error) {
	def, err := ParseLevel(level)
	if err != nil {
		return Policy{}, fmt.Errorf("lint policy: %w", err)
	}
	p := Policy{Default: def}
	for _, s := range rules {
		code, lvl, err := ParseRule(s)
		if err != nil {
			return Policy{}, err
		}
		if p.Rules == nil {
			p.Rules = map[string]Level{}
		}
		p.Rules[code] = lvl
	}
	return p, nil
}
