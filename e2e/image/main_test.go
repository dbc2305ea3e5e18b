// Package image tests the image users run, built from the repository's Dockerfile: its
// binary and Postgres builds, Argo CD's plugin server running in it as the repo-server
// sidecar, and the hook Job's command under the restrictions the rendered pod asks for.
package image

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/e2e/controlplane"
)

var repoRoot, _ = filepath.Abs("../..")

// What the test image is built with: a fixed version keeps the build cached across commits.
var (
	version    = envOr("SCHEMAHOOK_E2E_VERSION", "v0.0.0-e2e")
	repository = envOr("SCHEMAHOOK_E2E_REPOSITORY", "ghcr.io/schemahook/schemahook")
)

var (
	engine string // podman or docker
	image  string // the built image, tagged by the hash of its inputs
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if image = os.Getenv("SCHEMAHOOK_E2E_IMAGE"); image != "" { // built by e2e/run.sh
		if engine = controlplane.Engine(); engine == "" {
			fmt.Fprintln(os.Stderr, "image: SCHEMAHOOK_E2E_IMAGE is set but no container engine answers")
			return 1
		}
		return m.Run()
	}
	// scripts/image.sh installs podman when the machine has no engine, builds the image
	// once and afterwards only finds it by the hash of its inputs.
	cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "image.sh"))
	cmd.Env = append(os.Environ(), "VERSION="+version, "REPOSITORY="+repository)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: scripts/image.sh: %v\n", err)
		return 1
	}
	image = strings.TrimSpace(string(out))
	if engine = controlplane.Engine(); engine == "" {
		fmt.Fprintln(os.Stderr, "image: no container engine after scripts/image.sh")
		return 1
	}
	return m.Run()
}

// runImage runs the image with args and returns stdout; stderr goes to the failure message.
func runImage(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(engine, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\nstdout:\n%s\nstderr:\n%s", engine, strings.Join(args[:min(len(args), 3)], " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// restricted are the run flags of a restricted pod: uid 999, read-only root, no
// capabilities, no privilege escalation; the caller adds the writable mounts it needs.
func restricted() []string {
	args := []string{"run", "--rm", "--network", "host", "--user", "999:999", "--read-only",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges"}
	if engine == "podman" {
		args = append(args, "--read-only-tmpfs=false", "--pull", "never")
	}
	return args
}
