package review

import (
	"io"

	"github.com/schemahook/schemahook/internal/sarif"
	"github.com/schemahook/schemahook/lint"
)

// checkRules describe the rules of check that are not lint rules: the render's and the
// hook's refusals, so code scanning can show and explain them too. A rule a finding names
// that is not listed here gets a plain entry.
var checkRules = []struct{ id, summary, hint string }{
	{"checksum-mismatch", "A migration the base revision has (so the target has applied it) was edited.", "restore the file from the base revision and put the change in a new migration"},
	{"applied-file-missing", "A migration the base revision has (so the target has applied it) was removed.", "restore the file; schemahook never un-applies, undo the change with a new migration"},
	{"out-of-order", "A new migration is older than the newest one of the base revision.", "give it a newer version (schemahook new), or set apply.outOfOrder: true"},
	{"stale-sum", "schemahook.sum does not match the directory.", "review the change, then run schemahook hash on the migrations directory"},
	{"sum-syntax", "schemahook.sum has a line that is not a sum line.", "run schemahook hash on the migrations directory"},
	{"stale-schema", "schema.sql is not the schema the migrations directory builds.", "run schemahook schema on the app directory"},
	{"tx-mode", "A new migration cannot run in a transaction, which apply.txMode all requires.", "use apply.txMode file"},
	{"config", "schemahook.yaml is refused.", "fix the field the message names"},
	{"render", "The plugin's render refuses the app directory.", "fix what the message names"},
	{"base-unreadable", "The base revision's migrations directory cannot be read.", "check the base revision's directory"},
}

// WriteSARIF writes the report as a SARIF 2.1.0 log for code scanning (upload it with
// github/codeql-action/upload-sarif): lint's rules, then check's own. URIs are the
// findings' paths relative to %SRCROOT%, so run check from the repository root. A finding
// without a line is placed on line 1.
func WriteSARIF(w io.Writer, r *Report, toolVersion string) error {
	log := sarif.New(toolVersion)
	for _, rule := range lint.Rules() {
		sr := lint.SARIFRule(rule)
		sr.FullDescription, sr.Properties = nil, nil
		sr.Help = &sarif.Text{Text: "Fix: " + rule.Hint}
		sr.Name = rule.Name
		log.AddRule(sr)
	}
	for _, c := range checkRules {
		log.AddRule(sarif.Rule{ID: c.id, Name: c.id, ShortDescription: sarif.Text{Text: c.summary},
			Help: &sarif.Text{Text: "Fix: " + c.hint}}.Level("error"))
	}
	for _, f := range r.Findings {
		if !log.HasRule(f.Rule) {
			log.AddRule(sarif.Rule{ID: f.Rule, Name: f.Rule, ShortDescription: sarif.Text{Text: f.Rule}}.Level("error"))
		}
		msg := f.Message
		if f.Hint != "" {
			msg += " (" + f.Hint + ")"
		}
		log.AddResult(f.Rule, f.Severity, msg, f.File, f.Line, f.Col)
	}
	return log.Write(w)
}
