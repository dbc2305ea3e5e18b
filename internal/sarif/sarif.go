// Package sarif writes the subset of SARIF 2.1.0 that code scanning reads: one run of one
// tool, its rules, and results on lines of files. lint and review (schemahook check) both
// write their findings through it.
package sarif

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Log is a SARIF log of one run. Build it with New, AddRule and AddResult; write it with Write.
type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []run  `json:"runs"`
	index   map[string]int
}

type (
	run struct {
		Tool       tool     `json:"tool"`
		ColumnKind string   `json:"columnKind"`
		Results    []result `json:"results"`
	}
	tool struct {
		Driver driver `json:"driver"`
	}
	driver struct {
		Name           string `json:"name"`
		Version        string `json:"version,omitempty"`
		InformationURI string `json:"informationUri"`
		Rules          []Rule `json:"rules"`
	}
	config struct {
		Level string `json:"level"`
	}
	result struct {
		RuleID    string     `json:"ruleId"`
		RuleIndex int        `json:"ruleIndex"`
		Level     string     `json:"level"`
		Message   Text       `json:"message"`
		Locations []location `json:"locations"`
		// Properties carry what a finding knows beyond its message (a table's size).
		Properties map[string]any `json:"properties,omitempty"`
	}
	location struct {
		PhysicalLocation physical `json:"physicalLocation"`
	}
	physical struct {
		ArtifactLocation artifact `json:"artifactLocation"`
		Region           region   `json:"region"`
	}
	artifact struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
)

// Text is SARIF's message object.
type Text struct {
	Text string `json:"text"`
}

// Rule is a reportingDescriptor: what a rule checks, how to fix it, and its default level.
type Rule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     Text           `json:"shortDescription"`
	FullDescription      *Text          `json:"fullDescription,omitempty"`
	Help                 *Text          `json:"help,omitempty"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration config         `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

// Level sets the rule's default level (error, warning or none).
func (r Rule) Level(level string) Rule {
	r.DefaultConfiguration = config{Level: level}
	return r
}

// New starts the log of schemahook at toolVersion (may be empty).
func New(toolVersion string) *Log {
	return &Log{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []run{{
			Tool:       tool{Driver: driver{Name: "schemahook", Version: toolVersion, InformationURI: "https://github.com/schemahook/schemahook", Rules: []Rule{}}},
			ColumnKind: "unicodeCodePoints",
			Results:    []result{},
		}},
		index: map[string]int{},
	}
}

// AddRule adds r unless a rule of its ID is there already.
func (l *Log) AddRule(r Rule) {
	if _, ok := l.index[r.ID]; ok {
		return
	}
	d := &l.Runs[0].Tool.Driver
	l.index[r.ID] = len(d.Rules)
	d.Rules = append(d.Rules, r)
}

// HasRule reports whether a rule of id was added.
func (l *Log) HasRule(id string) bool {
	_, ok := l.index[id]
	return ok
}

// AddResult adds a finding of rule on file (slash-separated, from the repository root) at
// line and col (0: unknown; a result without a line is placed on line 1, as code scanning
// needs one). level is error, warning or note.
func (l *Log) AddResult(rule, level, msg, file string, line, col int) {
	l.Runs[0].Results = append(l.Runs[0].Results, result{
		RuleID: rule, RuleIndex: l.index[rule], Level: level, Message: Text{Text: msg},
		Locations: []location{{PhysicalLocation: physical{
			ArtifactLocation: artifact{URI: URI(file), URIBaseID: "%SRCROOT%"},
			Region:           region{StartLine: max(line, 1), StartColumn: col},
		}}},
	})
}

// SetProperties sets the property bag of the result added last.
func (l *Log) SetProperties(props map[string]any) {
	if n := len(l.Runs[0].Results); n > 0 && len(props) > 0 {
		l.Runs[0].Results[n-1].Properties = props
	}
}

// Write writes the log as indented JSON.
func (l *Log) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}

// URI makes a relative URI reference of a slash-separated path: characters that are not
// allowed unescaped in a URI are percent-encoded, and so is ':' (it would read as a scheme).
func URI(p string) string {
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
