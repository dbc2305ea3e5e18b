package lint

import (
	"errors"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
)

// The lint of a whole directory (`schemahook lint`, `schemahook check`) is package review's
// Run; this file keeps what it needs from lint: a refused file's SQL as a finding.

// ReadError turns migrations.Read's refusal of SQL that does not parse (or is not UTF-8)
// into a SH000 finding, so it comes out like every other problem (in SARIF, on its line).
// ok is false for other errors, which are not about SQL.
func ReadError(err error, p Policy) (res Result, ok bool) {
	var me *failure.Error
	if !errors.As(err, &me) || (me.Rule != migrations.RuleSyntax && me.Rule != migrations.RuleEncoding) {
		return Result{}, false
	}
	return syntaxResult(me, p), true
}

func syntaxResult(me *failure.Error, p Policy) Result {
	res := Result{Findings: []Finding{}}
	lvl := p.level(codeParseError)
	if lvl == LevelOff {
		return res
	}
	fd := Finding{File: me.File, Line: me.Line, Col: me.Col, Code: codeParseError, Severity: SeverityWarning,
		Message: me.Msg, Hint: ruleByCode[codeParseError].Hint}
	if lvl == LevelError {
		fd.Severity = SeverityError
		res.Blocked = true
	}
	res.Findings = append(res.Findings, fd)
	return res
}
