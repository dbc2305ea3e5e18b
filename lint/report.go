package lint

import (
	"encoding/json"
	"fmt"
	"github.com/schemahook/schemahook/internal/sarif"
	"io"
	"strings"
)

// Outputs of a lint result: WriteText, WriteJSON and WriteSARIF.
const (
	OutputText  = "text"
	OutputJSON  = "json"
	OutputSARIF = "sarif"
)

// Outputs lists the outputs, the default first.
var Outputs = []string{OutputText, OutputJSON, OutputSARIF}

// DocsURL is where each rule is explained; SARIF viewers link a finding to it.
const DocsURL = "https://github.com/schemahook/schemahook/blob/main/docs/lint.md"

// WriteText writes one finding per line as file:line:col: CODE message (hint), the form
// editors and CI logs turn into links.
func WriteText(w io.Writer, r Result) error {
	for _, f := range r.Findings {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the result as one JSON object: {"findings": [...], "blocked": bool}.
func WriteJSON(w io.Writer, r Result) error {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// SARIFLevel maps a rule level to SARIF's spelling.
func SARIFLevel(l Level) string {
	switch l {
	case LevelError:
		return "error"
	case LevelWarn:
		return "warning"
	}
	return "none"
}

// WriteSARIF writes the result as a SARIF 2.1.0 log, so code scanning shows findings on the
// lines of a pull request. File names are used as URIs relative to %SRCROOT%, so they should
// be paths from the repository root. toolVersion may be empty.
func WriteSARIF(w io.Writer, r Result, toolVersion string) error {
	log := sarif.New(toolVersion)
	for _, rule := range rules {
		log.AddRule(SARIFRule(rule))
	}
	for _, f := range r.Findings {
		msg := f.Message
		if f.Hint != "" {
			msg += " (" + f.Hint + ")"
		}
		log.AddResult(f.Code, f.Severity, msg, f.File, f.Line, f.Col)
		log.SetProperties(f.properties())
	}
	return log.Write(w)
}

// SARIFRule describes rule for code scanning: what it checks, why, how to fix it.
func SARIFRule(rule Rule) sarif.Rule {
	return sarif.Rule{
		ID:               rule.Code,
		Name:             sarifName(rule.Name),
		ShortDescription: sarif.Text{Text: rule.Summary},
		FullDescription:  &sarif.Text{Text: rule.Why},
		Help:             &sarif.Text{Text: "Fix: " + rule.Hint + ". Example:\n" + rule.Good},
		HelpURI:          DocsURL + "#" + strings.ToLower(rule.Code),
		Properties:       map[string]any{"tags": []string{rule.Group}},
	}.Level(SARIFLevel(rule.Default))
}

// sarifName turns a kebab-case rule name into the PascalCase SARIF recommends.
func sarifName(s string) string {
	var b strings.Builder
	for _, p := range strings.Split(s, "-") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

// properties are a finding's SARIF property bag: its table and that table's size.
func (f Finding) properties() map[string]any {
	p := map[string]any{}
	if f.Table != "" {
		p["table"] = f.Table
	}
	if f.Rows != nil {
		p["rows"] = *f.Rows
	}
	if f.Bytes != nil {
		p["bytes"] = *f.Bytes
	}
	if f.SmallTable {
		p["smallTable"] = true
	}
	return p
}
