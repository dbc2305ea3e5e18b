package migrations

import (
	"io/fs"
	"strings"
)

// entryKind is what a top-level entry of a migration directory is. kindOf is the one
// filter of the directory's files: Read reads by it and the plugin ships by it (DirFile).
type entryKind int

const (
	entryIgnored  entryKind = iota // dotfiles, README*, notes, .keep and any other file
	entrySubdir                    // a subdirectory: looked into for Flyway only
	entryAtlasSum                  // atlas.sum: marks an Atlas directory, never read
	entryGo                        // a .go file: a goose Go migration when numbered
	entrySQL                       // a .sql file: a migration
	entrySum                       // schemahook.sum
)

func kindOf(e fs.DirEntry) entryKind {
	n := e.Name()
	switch {
	case strings.HasPrefix(n, "."), strings.HasPrefix(n, "README"):
		return entryIgnored
	case e.IsDir():
		return entrySubdir
	case n == "atlas.sum":
		return entryAtlasSum
	case n == SumFileName:
		return entrySum
	case strings.HasSuffix(n, ".sql"):
		return entrySQL
	case strings.HasSuffix(n, ".go"):
		return entryGo
	}
	return entryIgnored
}

// DirFile reports whether a top-level entry is one of the directory's files as the hook
// Job needs them: the .sql files and schemahook.sum, which Read reads, and atlas.sum, by
// which Read tells an Atlas directory. Nothing else reaches the Job.
func DirFile(e fs.DirEntry) bool {
	switch kindOf(e) {
	case entrySQL, entrySum, entryAtlasSum:
		return true
	}
	return false
}
