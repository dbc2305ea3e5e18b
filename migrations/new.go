package migrations

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// timestampLayout is the version layout of schemahook, Atlas, dbmate, goose and
// golang-migrate's default: YYYYMMDDHHMMSS in UTC.
const timestampLayout = "20060102150405"

// NextVersion gives the version a new migration of d takes. A directory numbered with
// timestamps (14-digit versions), and an empty one, gets now's UTC timestamp; one numbered
// sequentially gets the highest number plus one, zero-padded like it. Flyway gets the next
// major version (V1.2 → 2). The result is always above every version of d, even when the
// clock is behind the newest file.
func NextVersion(d *Dir, now time.Time) string {
	highest := ""
	for _, f := range d.Files {
		if !f.Repeatable && (highest == "" || CompareVersions(f.Version, highest) > 0) {
			highest = f.Version
		}
	}
	if d.Format == FormatFlyway {
		if highest == "" {
			return "1"
		}
		major, _, _ := strings.Cut(highest, ".")
		return increment(major)
	}
	if highest != "" && len(highest) != len(timestampLayout) {
		return increment(highest)
	}
	ts := now.UTC().Format(timestampLayout)
	if highest != "" && CompareVersions(ts, highest) <= 0 {
		return increment(highest)
	}
	return ts
}

// increment adds one to a decimal version of any size, keeping its zero padding.
func increment(v string) string {
	n, ok := new(big.Int).SetString(v, 10)
	if !ok {
		n = new(big.Int)
	}
	s := n.Add(n, big.NewInt(1)).String()
	if len(s) < len(v) {
		s = strings.Repeat("0", len(v)-len(s)) + s
	}
	return s
}

var reNewName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`) })

// New creates the next migration file of the directory at dirPath (created when missing) in
// the directory's format, with the format's up and down markers, and returns its path. A
// golang-migrate directory gets the .up.sql and its .down.sql. When the directory's
// schemahook.sum is up to date it is rewritten to include the new file; a stale one is left
// alone so that the staleness is still caught.
func New(dirPath, name string, now time.Time) (string, error) {
	name = strings.Join(strings.Fields(name), "_")
	if !reNewName().MatchString(name) {
		return "", fmt.Errorf("migration name %q: use letters, digits, '_' and '-' (spaces become '_')", name)
	}
	if err := os.MkdirAll(dirPath, 0o755); err != nil {
		return "", fmt.Errorf("create migrations directory: %w", err)
	}
	root, err := os.OpenRoot(dirPath)
	if err != nil {
		return "", fmt.Errorf("open migrations directory: %w", err)
	}
	defer root.Close()
	d, err := Read(root.FS(), Options{Path: dirPath})
	if err != nil {
		return "", err
	}
	sumWasCurrent := d.Sum != nil && d.CheckSum() == nil

	files := newFiles(d.Format, NextVersion(d, now), name)
	for _, f := range files {
		if err := createFile(root, dirPath, f); err != nil {
			return "", err
		}
	}
	if sumWasCurrent {
		if err := WriteSum(root, Options{Format: d.Format, Path: dirPath}); err != nil {
			return "", err
		}
	}
	return filepath.Join(dirPath, files[0].name), nil
}

// newFile is a file New writes.
type newFile struct{ name, content string }

// newFiles are the files of a new migration of format f at version v: the migration first,
// then its separate down file where the format has one.
func newFiles(f Format, v, name string) []newFile {
	switch f {
	case FormatGolangMigrate:
		return []newFile{{v + "_" + name + ".up.sql", ""}, {v + "_" + name + ".down.sql", ""}}
	case FormatGoose:
		return []newFile{{v + "_" + name + ".sql", "-- +goose Up\n\n\n-- +goose Down\n\n"}}
	case FormatDbmate:
		return []newFile{{v + "_" + name + ".sql", "-- migrate:up\n\n\n-- migrate:down\n\n"}}
	case FormatFlyway:
		return []newFile{{"V" + v + "__" + name + ".sql", ""}}
	}
	return []newFile{{v + "_" + name + ".sql", ""}}
}

// createFile writes a new file into root (the directory at dirPath), refusing to replace
// one that exists.
func createFile(root *os.Root, dirPath string, f newFile) error {
	w, err := root.OpenFile(f.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create migration: %w", err)
	}
	_, werr := w.WriteString(f.content)
	if cerr := w.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dirPath, f.name), werr)
	}
	return nil
}

// WriteSum reads the directory held by root and writes its schemahook.sum. Going through
// os.Root keeps both the read and the write inside the directory, whatever its symlinks say.
func WriteSum(root *os.Root, opts Options) error {
	d, err := Read(root.FS(), opts)
	if err != nil {
		return err
	}
	if err := root.WriteFile(SumFileName, d.ComputeSum(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(opts.Path, SumFileName), err)
	}
	return nil
}
