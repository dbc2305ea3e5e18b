package lint

import (
	"encoding/json"
	"fmt"
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

// The subset of SARIF 2.1.0 that code scanning needs: the rules and the results on lines.
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
		ID                   string         `json:"id"`
		Name                 string         `json:"name"`
		ShortDescription     sarifText      `json:"shortDescription"`
		FullDescription      sarifText      `json:"fullDescription"`
		Help                 sarifText      `json:"help"`
		HelpURI              string         `json:"helpUri"`
		DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties"`
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
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
)

// sarifLevel maps a rule level to SARIF's spelling.
func sarifLevel(l Level) string {
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
	driver := sarifDriver{Name: "schemahook", Version: toolVersion, InformationURI: "https://github.com/schemahook/schemahook"}
	index := map[string]int{}
	for i, rule := range rules {
		index[rule.Code] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   rule.Code,
			Name:                 sarifName(rule.Name),
			ShortDescription:     sarifText{Text: rule.Summary},
			FullDescription:      sarifText{Text: rule.Why},
			Help:                 sarifText{Text: "Fix: " + rule.Hint + ". Example:\n" + rule.Good},
			HelpURI:              DocsURL + "#" + strings.ToLower(rule.Code),
			DefaultConfiguration: sarifConfig{Level: sarifLevel(rule.Default)},
			Properties:           map[string]any{"tags": []string{rule.Group}},
		})
	}
	results := []sarifResult{}
	for _, f := range r.Findings {
		msg := f.Message
		if f.Hint != "" {
			msg += " (" + f.Hint + ")"
		}
		line := max(f.Line, 1)
		results = append(results, sarifResult{
			RuleID:    f.Code,
			RuleIndex: index[f.Code],
			Level:     f.Severity,
			Message:   sarifText{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: sarifURI(f.File), URIBaseID: "%SRCROOT%"},
				Region:           sarifRegion{StartLine: line, StartColumn: f.Col},
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

// sarifURI makes a relative URI reference of a slash-separated path: characters that are
// not allowed unescaped in a URI are percent-encoded, and so is ':' (it would read as a
// scheme).
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
