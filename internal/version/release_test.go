package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The install manifests, the Helm values and the README pin one image version, of the
// repository the binary defaults to, and `make build` with that version bakes exactly that
// image in, so the sidecar renders Jobs running its own, published image. The release
// workflow runs this with RELEASE_VERSION set to the tag it publishes.
func TestInstallPinsTheReleasedImage(t *testing.T) {
	root := filepath.Join("..", "..")
	pinned := regexp.MustCompile(regexp.QuoteMeta(Repository) + `:([^\s"'` + "`" + `]+)`)
	// kustomize's images transformer and the remote component's ref name the version too.
	newTag := regexp.MustCompile(`newTag: (\S+)`)
	ref := regexp.MustCompile(`github\.com/schemahook/schemahook//manifests/install/sidecar\?ref=(\S+)`)

	found := map[string][]string{} // version → where
	files := []string{filepath.Join(root, "README.md")}
	require.NoError(t, filepath.WalkDir(filepath.Join(root, "manifests", "install"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, re := range []*regexp.Regexp{pinned, newTag, ref} {
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				found[m[1]] = append(found[m[1]], f)
			}
		}
	}
	require.Len(t, found, 1, "one version everywhere: %v", found)
	var release string
	for v, where := range found {
		release = v
		require.GreaterOrEqual(t, len(where), 5, "the sidecar patch, both Helm values files and the README pin it")
	}
	require.Regexp(t, `^v\d+\.\d+\.\d+$`, release)
	if want := os.Getenv("RELEASE_VERSION"); want != "" {
		require.Equal(t, want, release, "the tag being released is the version the install pins")
	}

	// The Makefile's default repository is the binary's, and a build for the release bakes
	// both in.
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^REPOSITORY\s*\?=\s*(\S+)$`).FindSubmatch(mk)
	require.NotNil(t, m, "Makefile sets REPOSITORY")
	require.Equal(t, Repository, string(m[1]))
	out, err := exec.Command("make", "-s", "-C", root, "ldflags", "VERSION="+release).CombinedOutput()
	require.NoError(t, err, "%s", out)
	flags := strings.Fields(string(out))
	require.Contains(t, flags, "github.com/schemahook/schemahook/internal/version.Version="+release)
	require.Contains(t, flags, "github.com/schemahook/schemahook/internal/version.Repository="+Repository)
}
