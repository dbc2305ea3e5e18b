package lint

import (
	"regexp"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRuleExamples runs each rule's documented examples: Bad must trigger the rule, Good
// must not. Tables of exampleSchema exist as an earlier migration.
func TestRuleExamples(t *testing.T) {
	for _, r := range Rules() {
		t.Run(r.Code+"_"+r.Name, func(t *testing.T) {
			// The rule is on, also when its default is off.
			opts := Options{Policy: Policy{Rules: map[string]Level{r.Code: LevelError}}}
			var bad Result
			if r.Code == codeParseError {
				// migrations.Read refuses SQL that does not parse, so hand the statement over.
				f := &migrations.File{Name: "bad.sql", Content: r.Bad, Up: r.Bad,
					Statements: []migrations.Statement{{SQL: r.Bad, Line: 1, Col: 1}}}
				bad = Files(nil, []*migrations.File{f}, opts)
			} else {
				bad = lintSQL(t, opts, exampleSchema, r.Bad)
			}
			assert.True(t, hasCode(bad, r.Code), "Bad example %q gave %v, want %s", r.Bad, codes(bad), r.Code)
			good := lintSQL(t, opts, exampleSchema, r.Good)
			assert.False(t, hasCode(good, r.Code), "Good example %q gave %v", r.Good, codes(good))
		})
	}
}

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	code := regexp.MustCompile(`^SH[0-9]{3}$`)
	prev := ""
	for _, r := range Rules() {
		assert.Regexp(t, code, r.Code)
		assert.False(t, seen[r.Code], "duplicate code %s", r.Code)
		seen[r.Code] = true
		assert.Greater(t, r.Code, prev, "rules must be ordered by code")
		prev = r.Code
		for name, v := range map[string]string{"Name": r.Name, "Group": r.Group, "Summary": r.Summary, "Why": r.Why, "Hint": r.Hint, "Bad": r.Bad, "Good": r.Good} {
			assert.NotEmpty(t, strings.TrimSpace(v), "%s has no %s", r.Code, name)
		}
		require.Contains(t, []Level{LevelError, LevelWarn, LevelOff}, r.Default)
	}
}
