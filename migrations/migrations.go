// Package migrations is the model of a migration directory: its files in any supported
// format, their order, checksums, sum file and statements split by the real Postgres parser.
package migrations

import (
	"crypto/sha256"
	"slices"
)

// Format names a directory layout. FormatAuto detects it from the file names and markers.
type Format string

// The supported formats. FormatNative is also Atlas's layout.
const (
	FormatAuto          Format = "auto"
	FormatNative        Format = "schemahook"
	FormatGolangMigrate Format = "golang-migrate"
	FormatGoose         Format = "goose"
	FormatFlyway        Format = "flyway"
	FormatDbmate        Format = "dbmate"
)

// Formats lists the formats a user may name (--format, spec.migrations.format), auto first.
var Formats = []Format{FormatAuto, FormatNative, FormatGolangMigrate, FormatGoose, FormatFlyway, FormatDbmate}

// Valid reports whether f is one of Formats.
func (f Format) Valid() bool { return slices.Contains(Formats, f) }

// SumFileName is the integrity file kept beside the migrations.
const SumFileName = "schemahook.sum"

// Limits a read enforces so a hostile or mistaken repository cannot exhaust the sidecar.
const (
	DefaultMaxFileSize  = 4 << 20  // 4 MiB per migration file
	DefaultMaxTotalSize = 64 << 20 // 64 MiB for the whole directory
	DefaultMaxFiles     = 20000
)

// Options tune Read. The zero value detects the format and applies the default limits.
type Options struct {
	Format       Format // "" or FormatAuto detects
	MaxFileSize  int64  // 0 means DefaultMaxFileSize
	MaxTotalSize int64  // 0 means DefaultMaxTotalSize
	MaxFiles     int    // entries of the directory, ignored ones included; 0 means DefaultMaxFiles
	// Path is the directory as the user knows it (e.g. "db/orders/migrations"); errors name
	// files under it. "" names files relative to the directory.
	Path string
	// DeferStatements leaves every file's sections, markers and statements (Up, Down, NoTx,
	// Statements) unparsed until Dir.Split: a run with nothing pending never needs them.
	DeferStatements bool
}

// Dir is a read migration directory.
type Dir struct {
	Format Format
	// Files holds the versioned files in ascending version order, then Flyway repeatables
	// ordered by description.
	Files []*File
	// Sum is the content of schemahook.sum as found, nil when the directory has none.
	Sum []byte
	// Path is Options.Path, so later errors (CheckSum) name files the same way.
	Path string
	// sumBody is the sha256 of Sum's lines below the first, when Read took it.
	sumBody *[sha256.Size]byte
}

// File is one migration.
type File struct {
	Name        string // path relative to the directory, slash-separated
	Version     string // as written in the name (Flyway's 1_2 as 1.2); "" for repeatables
	Description string
	Repeatable  bool   // Flyway R__ file: runs again whenever its checksum changes
	Content     string // the whole file, byte-exact
	Up          string // the SQL that runs (a substring of Content)
	UpOffset    int    // byte offset of Up in Content
	Down        string // kept for reference, never run
	// DownName is the separate file Down was read from (golang-migrate .down.sql, Flyway
	// U file); "" when Down is a section of this file or absent.
	DownName string
	// NoTx is set when the file carries its format's non-transactional marker
	// (goose NO TRANSACTION, dbmate transaction:false, atlas:txmode none).
	NoTx bool
	// MarkerFormat is true when the format has its own non-transactional marker, so a
	// statement that refuses a transaction is an error unless NoTx is set.
	MarkerFormat bool
	Checksum     string // lowercase hex sha256 of Content
	Statements   []Statement

	lines  fileLines          // the position index of Content, see Pos
	parsed bool               // Up, Down, NoTx and Statements are set (Dir.Split)
	sum    *[sha256.Size]byte // Checksum's bytes, when Read has them (the sum file's lines use them)
}

// Statement is one SQL statement of a file's Up section.
type Statement struct {
	// SQL is byte-exact text without surrounding whitespace or its final semicolon; a goose
	// StatementBegin/End block is one Statement, however many statements it holds.
	SQL    string
	Offset int // byte offset of SQL in File.Content
	Line   int // 1-based line of Offset in File.Content
	Col    int // 1-based column (in characters) of Offset in its line
	// NoTx is set when Postgres refuses the statement inside a transaction block
	// (CREATE INDEX CONCURRENTLY, VACUUM, CREATE DATABASE, ...).
	NoTx bool
	// Parts is how many statements a goose StatementBegin/End block holds (0 for any other
	// Statement, which is one). Postgres completes each separately, and a batch of
	// statements counts completions to name the one that failed.
	Parts int
}

// Transactional reports whether the file runs in one transaction. Files with a marker format
// run in a transaction unless marked; others run statement by statement when any statement
// refuses a transaction.
func (f *File) Transactional() bool {
	if f.NoTx {
		return false
	}
	if f.MarkerFormat {
		return true
	}
	for _, s := range f.Statements {
		if s.NoTx {
			return false
		}
	}
	return true
}

// Rules of the refusals that callers tell apart (a refusal is a *failure.Error whose Rule
// names what was broken; the others are named where they are raised).
const (
	RuleSyntax        = "syntax"         // Postgres's parser refuses the SQL
	RuleEncoding      = "encoding"       // the file is not valid UTF-8 text
	RuleRead          = "read"           // the directory or a file cannot be read
	RuleUnknownFormat = "unknown-format" // no format matches the directory
)
