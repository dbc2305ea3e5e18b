package argocd

import (
	"fmt"
	"os"
	"testing"

	"github.com/schemahook/schemahook/e2e/stories"
)

// repoRoot is the schemahook work tree: its plugin.yaml, Makefile and examples.
var repoRoot = stories.RepoRoot

// binDir holds the schemahook binary the plugin server runs.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, cleanup, err := stories.BuildBinary(repoRoot)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	binDir = dir
	return m.Run()
}
