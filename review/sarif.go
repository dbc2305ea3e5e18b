package review

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

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

// The subset of SARIF 2.1.0 that code scanning reads.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool       sarifTool     `json:"tool"`
		ColumnKind string        `json:"columnKind"`
		Results    []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string      `json:"id"`
		Name                 string      `json:"name,omitempty"`
		ShortDescription     sarifText   `json:"shortDescription"`
		Help                 *sarifText  `json:"help,omitempty"`
		HelpURI              string      `json:"helpUri,omitempty"`
		DefaultConfiguration sarifConfig `json:"defaultConfiguration"`
	}
	sarifConfig struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID    string          `json:"ruleId"`
		RuleIndex int             `json:"ruleIndex"`
		Level     string          `json:"level"`
		Message   sarifText       `json:"message"`
		Locations []sarifLocation `json:"locations"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           sarifRegion   `json:"region"`
	}
	sarifArtifact struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
)

// WriteSARIF writes the report as a SARIF 2.1.0 log for code scanning (upload it with
// github/codeql-action/upload-sarif). URIs are the findings' paths relative to %SRCROOT%,
// so run check from the repository root. A finding without a line is placed on line 1.
func WriteSARIF(w io.Writer, r *Report, toolVersion string) error {
	driver := sarifDriver{Name: "schemahook", Version: toolVersion, InformationURI: "https://github.com/schemahook/schemahook"}
	index := map[string]int{}
	addRule := func(sr sarifRule) {
		index[sr.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sr)
	}
	for _, rule := range lint.Rules() {
		addRule(sarifRule{
			ID: rule.Code, Name: rule.Name,
			ShortDescription:     sarifText{Text: rule.Summary},
			Help:                 &sarifText{Text: "Fix: " + rule.Hint},
			HelpURI:              lint.DocsURL + "#" + strings.ToLower(rule.Code),
			DefaultConfiguration: sarifConfig{Level: sarifLevel(rule.Default)},
		})
	}
	for _, c := range checkRules {
		addRule(sarifRule{ID: c.id, Name: c.id, ShortDescription: sarifText{Text: c.summary},
			Help: &sarifText{Text: "Fix: " + c.hint}, DefaultConfiguration: sarifConfig{Level: "error"}})
	}
	results := []sarifResult{}
	for _, f := range r.Findings {
		if _, ok := index[f.Rule]; !ok {
			addRule(sarifRule{ID: f.Rule, Name: f.Rule, ShortDescription: sarifText{Text: f.Rule}, DefaultConfiguration: sarifConfig{Level: "error"}})
		}
		msg := f.Message
		if f.Hint != "" {
			msg += " (" + f.Hint + ")"
		}
		results = append(results, sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: f.Severity,
			Message: sarifText{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: sarifURI(f.File), URIBaseID: "%SRCROOT%"},
				Region:           sarifRegion{StartLine: max(f.Line, 1), StartColumn: f.Col},
			}}},
		})
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, ColumnKind: "unicodeCodePoints", Results: results}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func sarifLevel(l lint.Level) string {
	switch l {
	case lint.LevelError:
		return "error"
	case lint.LevelWarn:
		return "warning"
	}
	return "none"
}

// sarifURI makes a relative URI reference of a slash-separated path, percent-encoding what
// a URI does not allow unescaped, and ':' (it would read as a scheme).
func sarifURI(p string) string {
	p = strings.TrimPrefix(p, "./")
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/!$&'()*+,;=@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
