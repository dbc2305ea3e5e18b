// Command argocd-cmp-server is Argo CD's plugin server, as the argocd binary runs it when
// invoked under that name (Argo CD's copyutil init container copies the binary into the
// sidecar as /var/run/argocd/argocd-cmp-server). Built static, as Argo CD ships it, so it runs
// in any sidecar image.
package main

import (
	"os"

	cmpserver "github.com/argoproj/argo-cd/v2/cmd/argocd-cmp-server/commands"
)

func main() {
	if err := cmpserver.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
