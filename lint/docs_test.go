package lint

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/lint.md from the rule registry")

const docsPath = "../docs/lint.md"

// TestDocsUpToDate fails when docs/lint.md differs from what the registry generates.
func TestDocsUpToDate(t *testing.T) {
	want := Markdown()
	if *update {
		require.NoError(t, os.MkdirAll("../docs", 0o755))
		require.NoError(t, os.WriteFile(docsPath, want, 0o644))
	}
	got, err := os.ReadFile(docsPath)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "docs/lint.md is stale: run go test ./lint -run TestDocsUpToDate -update")
}

func TestDocsMentionEveryRule(t *testing.T) {
	doc := string(Markdown())
	for _, r := range Rules() {
		assert.Contains(t, doc, `<a id="`+strings.ToLower(r.Code)+`"></a>`)
		assert.Contains(t, doc, "```sql\n"+r.Bad+"\n```")
		assert.Contains(t, doc, "```sql\n"+r.Good+"\n```")
		if r.Group != GroupDirectives && r.Group != GroupSyntax {
			assert.Contains(t, docsCompare, r.Code, "comparison table lacks %s", r.Code)
		}
	}
}
