package stories_test

import (
	"os"
	"testing"

	"github.com/schemahook/schemahook/e2e/argocd"
	"github.com/schemahook/schemahook/e2e/stories"
)

// The stories against Argo CD v2 code (argo-cd/v2 and its gitops-engine); e2e/argocd3 runs
// the same stories against v3.
func TestMain(m *testing.M) { os.Exit(stories.Main(m, argocd.V2)) }

func TestStories(t *testing.T) { stories.Run(t) }
