// Package version holds what the build bakes into the binary, so the sidecar renders hook
// Jobs that run exactly the image it runs itself.
package version

// Set with -ldflags "-X github.com/schemahook/schemahook/internal/version.Version=..." (see
// the Makefile's LDFLAGS, the one place the build flags live).
var (
	Version    = "dev"
	Repository = "ghcr.io/schemahook/schemahook"
)

// Image is the container image reference of this build: repository and version.
func Image() string {
	v := Version
	if v == "" || v == "dev" {
		v = "latest"
	}
	return Repository + ":" + v
}
