package review

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/failure"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Annotation is a GitHub Actions workflow command read back: what the runner would show.
type Annotation struct {
	Level, File, Title, Message string
	Line, Col                   int
}

var commandLine = regexp.MustCompile(`^::(error|warning|notice) ([^:]*)::(.*)$`)

// ParseAnnotations reads workflow command lines back the way the runner does: properties
// split at ',' and '=', then unescaped. It fails the test on a line that is not one.
func ParseAnnotations(t *testing.T, out string) []Annotation {
	t.Helper()
	unescape := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	var as []Annotation
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := commandLine.FindStringSubmatch(l)
		require.NotNil(t, m, "not a workflow command: %q", l)
		a := Annotation{Level: m[1], Message: unescape.Replace(m[3])}
		for _, p := range strings.Split(m[2], ",") {
			k, v, ok := strings.Cut(p, "=")
			require.True(t, ok, "property %q in %q", p, l)
			v = unescape.Replace(v)
			switch k {
			case "file":
				a.File = v
			case "title":
				a.Title = v
			case "line":
				a.Line, _ = strconv.Atoi(v)
			case "col":
				a.Col, _ = strconv.Atoi(v)
			default:
				t.Fatalf("unexpected property %q", k)
			}
		}
		as = append(as, a)
	}
	return as
}

// Hostile text in every field comes back unchanged: %, CR and LF in the message; also ':'
// and ',' in the file and title, which would otherwise end a property.
func TestGitHubOutputRoundTrip(t *testing.T) {
	r := &Report{Findings: []Finding{
		{File: "db/a,b:c/20240101000000_x.sql", Line: 3, Col: 7, Rule: "SH301", Severity: "error", Message: "100% blocked\r\nsecond line: a, b", Hint: "use %0A literally"},
		{File: "db/x/migrations/schemahook.sum", Rule: "stale-sum", Severity: "warning", Message: "does not match"},
	}, ExitCode: failure.ExitLint}
	var buf bytes.Buffer
	require.NoError(t, WriteGitHub(&buf, r))
	as := ParseAnnotations(t, buf.String())
	require.Len(t, as, 3)
	assert.Equal(t, Annotation{Level: "error", File: "db/a,b:c/20240101000000_x.sql", Line: 3, Col: 7,
		Title: "schemahook SH301 create-index-non-concurrently", Message: "100% blocked\r\nsecond line: a, b (use %0A literally)"}, as[0])
	assert.Equal(t, Annotation{Level: "warning", File: "db/x/migrations/schemahook.sum", Title: "schemahook stale-sum", Message: "does not match"}, as[1])
	assert.Equal(t, "notice", as[2].Level)
	assert.Contains(t, as[2].Message, "2 finding(s), 1 blocking")
	// Each command is one line: the CR and LF did not split it.
	assert.Equal(t, 3, strings.Count(buf.String(), "\n"))
}

// SARIFResult is the part of a SARIF result code scanning places on a line.
type SARIFResult struct {
	RuleID, Level, Message, URI string
	RuleIndex, Line, Col        int
}

// ParseSARIF reads a SARIF log back and checks each result's ruleIndex points at its rule.
func ParseSARIF(t *testing.T, data []byte) []SARIFResult {
	t.Helper()
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(data, &log))
	require.Equal(t, "2.1.0", log.Version)
	require.Len(t, log.Runs, 1)
	rules := log.Runs[0].Tool.Driver.Rules
	var out []SARIFResult
	for _, r := range log.Runs[0].Results {
		require.Less(t, r.RuleIndex, len(rules))
		assert.Equal(t, r.RuleID, rules[r.RuleIndex].ID, "ruleIndex points at another rule")
		require.Len(t, r.Locations, 1)
		loc := r.Locations[0].PhysicalLocation
		assert.Equal(t, "%SRCROOT%", loc.ArtifactLocation.URIBaseID)
		assert.GreaterOrEqual(t, loc.Region.StartLine, 1)
		out = append(out, SARIFResult{RuleID: r.RuleID, Level: r.Level, Message: r.Message.Text, URI: loc.ArtifactLocation.URI,
			RuleIndex: r.RuleIndex, Line: loc.Region.StartLine, Col: loc.Region.StartColumn})
	}
	return out
}

func TestSARIF(t *testing.T) {
	r := &Report{Findings: []Finding{
		{File: "db/o/migrations/20240103000000_i.sql", Line: 2, Col: 1, Rule: "SH301", Severity: "error", Message: "m"},
		{File: "db/o/migrations/20240101000000_c.sql", Rule: "applied-file-missing", Severity: "error", Message: "gone"},
		{File: "db/o/pg yaml:1.yaml", Line: 4, Rule: "brand-new-rule", Severity: "warning", Message: "w"},
	}}
	var buf bytes.Buffer
	require.NoError(t, WriteSARIF(&buf, r, "v1.2.3"))
	res := ParseSARIF(t, buf.Bytes())
	require.Len(t, res, 3)
	assert.Equal(t, SARIFResult{RuleID: "SH301", Level: "error", Message: "m", URI: "db/o/migrations/20240103000000_i.sql", RuleIndex: res[0].RuleIndex, Line: 2, Col: 1}, res[0])
	assert.Equal(t, []any{"applied-file-missing", 1, 0}, []any{res[1].RuleID, res[1].Line, res[1].Col})
	assert.Equal(t, []any{"brand-new-rule", "db/o/pg%20yaml%3A1.yaml", 4}, []any{res[2].RuleID, res[2].URI, res[2].Line})
}

func TestMarkdownKeepsCellsWhole(t *testing.T) {
	r := &Report{Base: "origin/main", BaseCommit: strings.Repeat("a", 40), ExitCode: failure.ExitLint,
		Apps: []App{{Dir: "db/o", Migrations: "db/o/migrations", History: []string{"x"}, Changed: []string{"db/o/migrations/2_b.sql"}, Schema: "absent"}},
		Findings: []Finding{{App: "db/o", File: "db/o/migrations/2_b.sql", Line: 2, Col: 1, Rule: "SH301", Severity: "error",
			Message: "a | b\n<script>", Hint: "h"}}}
	var buf bytes.Buffer
	require.NoError(t, WriteMarkdown(&buf, r))
	md := buf.String()
	assert.Contains(t, md, "## schemahook check: blocked (exit 3, 1 error(s))")
	assert.Contains(t, md, "| `db/o` | 1 file(s) | `2_b.sql` | absent | 1 (1 error(s)) |")
	assert.Contains(t, md, `a \| b<br>&lt;script&gt;`)
	assert.Contains(t, md, "[SH301](")
	for _, l := range strings.Split(strings.TrimSpace(md), "\n") {
		if strings.HasPrefix(l, "| error") {
			assert.Equal(t, 5, strings.Count(l, "|")-strings.Count(l, `\|`), "row split into more cells: %q", l)
		}
	}
}
