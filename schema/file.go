package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/schemahook/schemahook/migrations"
)

// FileName is the schema file of an app directory, beside schemahook.yaml.
const FileName = "schema.sql"

// sumRE is the header line recording the directory checksum a schema.sql was built from
// (the first line of the directory's schemahook.sum, whether or not the file exists).
var sumRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^-- schemahook: built from migrations (h1:[A-Za-z0-9+/=]+)$`)
})

// File is the content of schema.sql: a header naming the directory checksum and how to
// refresh it, then the normalised schema. dirArg is the app directory as the refresh
// command should name it.
func File(dirSum, dirArg, normalized string) string {
	return fmt.Sprintf(`-- schema.sql: the schema the migrations of this directory build, replayed on an empty
-- Postgres and normalised by schemahook. Do not edit; after changing the migrations run
--   schemahook schema %s
-- schemahook: built from migrations %s

%s`, dirArg, dirSum, normalized)
}

// ReadFile splits schema.sql into the recorded directory checksum, its line, and the
// normalised schema after the header. A file without the checksum line is an error naming
// the file (rule "schema-header").
func ReadFile(name, content string) (sum string, line int, body string, err error) {
	lines := strings.Split(strings.ReplaceAll(content, "\r\n", "\n"), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "--") {
			break
		}
		if m := sumRE().FindStringSubmatch(l); m != nil {
			rest := strings.Join(lines[i+1:], "\n")
			return m[1], i + 1, strings.TrimLeft(rest, "\n"), nil
		}
	}
	return "", 0, "", fmt.Errorf("%s:1: no \"-- schemahook: built from migrations h1:...\" line in the header: the file was not written by `schemahook schema` (or its header was edited) [schema-header]", name)
}

// DirSum is the directory checksum recorded in schema.sql: the first line of the sum file
// the directory would have.
func DirSum(computedSum []byte) string {
	first, _, _ := strings.Cut(string(computedSum), "\n")
	return first
}

// CheckFresh refuses the schema.sql content of file when the directory checksum it records
// is not dir's: the offline check of the render and of `schemahook check` (no Postgres, so
// it compares checksums, not schemas). refreshArg is the app directory as the refresh
// command should name it.
func CheckFresh(file, content string, dir *migrations.Dir, refreshArg string) error {
	sum, line, _, err := ReadFile(file, content)
	if err != nil {
		return err
	}
	if now := DirSum(dir.ComputeSum()); sum != now {
		return fmt.Errorf("%s:%d: stale: built from migrations %s, but %s is now %s: refresh it with `schemahook schema %s` and commit it [stale-schema]",
			file, line, sum, dir.Path, now, refreshArg)
	}
	return nil
}

// Fresh is CheckFresh on appDir/schema.sql as it is on disk, for `schemahook check`.
func Fresh(appDir string) error {
	dir, err := ReadAppDir(appDir)
	if err != nil {
		return err
	}
	file := filepath.Join(appDir, FileName)
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return CheckFresh(filepath.ToSlash(file), string(b), dir, filepath.ToSlash(appDir))
}
