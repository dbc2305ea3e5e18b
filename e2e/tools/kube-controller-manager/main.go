// Command kube-controller-manager is the upstream controller manager (the e2e suite runs only
// its job and serviceaccount controllers), built from the Go module proxy.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
