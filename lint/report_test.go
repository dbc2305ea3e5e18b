package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/schemahook/schemahook/internal/sarif"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleResult lints a file that triggers findings of several severities, one on a line
// with a multi-byte character before it.
func sampleResult(t *testing.T) Result {
	r := lintSQL(t, Options{}, exampleSchema, "-- café\nALTER TABLE orders DROP COLUMN note;\nCREATE TABLE tags (name varchar(20));\n")
	require.True(t, r.Blocked)
	require.GreaterOrEqual(t, len(r.Findings), 2)
	return r
}

// sarifSchema is the SARIF 2.1.0 JSON schema, compiled; formats asserted when asked.
func sarifSchema(t *testing.T, assertFormat bool) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	if assertFormat {
		c.AssertFormat()
	}
	f, err := os.Open("testdata/sarif-2.1.0-rtm.5.json")
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	require.NoError(t, c.AddResource("sarif.json", doc))
	schema, err := c.Compile("sarif.json")
	require.NoError(t, err)
	return schema
}

func TestSARIFSchema(t *testing.T) {
	schema := sarifSchema(t, true)

	cases := []struct {
		name string
		res  Result
	}{
		{"findings", sampleResult(t)},
		{"no findings", Result{}},
		{"table sizes", lintSQL(t, Options{Catalog: &Catalog{Tables: map[string]TableStats{"public.orders": {Rows: 12, Bytes: 8192}}}, SmallTable: &SmallTable{Rows: 100, Bytes: 1 << 20}},
			exampleSchema, "CREATE INDEX i ON orders (note);")},
		{"odd file name", Result{Findings: []Finding{{File: "db/a b:c%.sql", Line: 0, Col: 0, Code: codeParseError, Severity: SeverityError, Message: "x"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, WriteSARIF(&buf, tc.res, "v1.2.3"))
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			require.NoError(t, err)
			assert.NoError(t, schema.Validate(inst))

			var log sarif.Log
			require.NoError(t, json.Unmarshal(buf.Bytes(), &log))
			require.Len(t, log.Runs, 1)
			assert.Len(t, log.Runs[0].Tool.Driver.Rules, len(Rules()))
			require.Len(t, log.Runs[0].Results, len(tc.res.Findings))
			for i, res := range log.Runs[0].Results {
				fd := tc.res.Findings[i]
				assert.Equal(t, fd.Code, res.RuleID)
				assert.Equal(t, fd.Code, log.Runs[0].Tool.Driver.Rules[res.RuleIndex].ID)
				assert.Equal(t, fd.Severity, res.Level)
				assert.Equal(t, max(fd.Line, 1), res.Locations[0].PhysicalLocation.Region.StartLine)
				if fd.Rows != nil {
					assert.Equal(t, []any{fd.Table, float64(*fd.Rows), float64(*fd.Bytes), fd.SmallTable},
						[]any{res.Properties["table"], res.Properties["rows"], res.Properties["bytes"], res.Properties["smallTable"] != nil})
				}
			}
		})
	}
}

func TestSARIFRejectsBrokenLog(t *testing.T) {
	// The validation above must be able to fail: a result without a message is invalid.
	schema := sarifSchema(t, false)
	bad := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"SH101"}]}]}`
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
	require.NoError(t, err)
	assert.Error(t, schema.Validate(inst))
}

func TestTextAndJSON(t *testing.T) {
	r := sampleResult(t)
	var text bytes.Buffer
	require.NoError(t, WriteText(&text, r))
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	require.Len(t, lines, len(r.Findings))
	assert.Equal(t, "20240101000002_m2.sql:2:1: SH102 dropping column public.orders.note deletes its data and breaks code that still uses it ("+ruleByCode[codeDropColumn].Hint+")", lines[0])

	var js bytes.Buffer
	require.NoError(t, WriteJSON(&js, r))
	var back Result
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, r, back)

	js.Reset()
	require.NoError(t, WriteJSON(&js, Result{}))
	assert.JSONEq(t, `{"findings":[],"blocked":false}`, js.String())
}
