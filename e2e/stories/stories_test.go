package stories_test

import (
	"os"
	"testing"

	"github.com/schemahook/schemahook/e2e/argocd"
	"github.com/schemahook/schemahook/e2e/stories"
)

// The stories against this module's Argo CD code (argocd.Code, with its gitops-engine): the
// e2e module links v2; e2e/argocd3 links v3 and generates its copy of this file from this one.
func TestMain(m *testing.M) { os.Exit(stories.Main(m, argocd.Code)) }

func TestStories(t *testing.T) { stories.Run(t) }
