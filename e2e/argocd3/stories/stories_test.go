package stories_test

import (
	"os"
	"testing"

	"github.com/schemahook/schemahook/e2e/argocd3/argocd"
	"github.com/schemahook/schemahook/e2e/stories"
)

// The stories of e2e/stories against Argo CD v3 code (argo-cd/v3 and its gitops-engine); the
// e2e module runs the same stories against v2.
func TestMain(m *testing.M) { os.Exit(stories.Main(m, argocd.V3)) }

func TestStories(t *testing.T) { stories.Run(t) }
