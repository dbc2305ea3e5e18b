package stories

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildBinary returns the directory holding the schemahook binary and a cleanup function:
// $SCHEMAHOOK_BIN's directory when set, else a fresh `make build` of the work tree root
// into a temporary directory (the Makefile holds the build flags; go's cache keeps it fast).
func BuildBinary(root string) (string, func(), error) {
	if bin := os.Getenv("SCHEMAHOOK_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", nil, fmt.Errorf("SCHEMAHOOK_BIN: %w", err)
		}
		if filepath.Base(abs) != "schemahook" {
			return "", nil, fmt.Errorf("SCHEMAHOOK_BIN %s: plugin.yaml runs a binary named schemahook", bin)
		}
		return filepath.Dir(abs), func() {}, nil
	}
	dir, err := os.MkdirTemp("", "schemahook-bin")
	if err != nil {
		return "", nil, fmt.Errorf("binary directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	cmd := exec.Command("make", "-s", "-C", root, "build", "BIN="+filepath.Join(dir, "schemahook"))
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("make build: %v\n%s", err, out)
	}
	return dir, cleanup, nil
}
