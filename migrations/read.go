package migrations

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/enum"
)

// Read reads the migration directory fsys (rooted at the directory) and gives its files in
// order with their statements. Every refusal is a *failure.Error naming the file, line and rule.
//
// What Read looks at: the files at the top of the directory whose names end in .sql, and
// schemahook.sum. It ignores dotfiles, README*, atlas.sum (whose presence marks an Atlas
// directory), any other file not ending in .sql (notes, .keep, ...) and subdirectories, with
// two exceptions: a goose directory's numbered .go files are Go migrations, which cannot run
// from SQL, and a Flyway directory must hold no .sql file below the top level (Flyway would
// run it); both are refused. A file read must be a regular file, or a symlink to one that
// fsys resolves inside itself (Kubernetes mounts every ConfigMap key as a symlink into
// ..data/, so that is how the hook Job sees its files); devices, pipes and symlinks that
// dangle, escape fsys or lead to anything else are refused.
func Read(fsys fs.FS, opts Options) (*Dir, error) {
	opts = opts.withDefaults()
	name := func(n string) string {
		if opts.Path == "" {
			return n
		}
		return path.Join(opts.Path, n)
	}
	dirName := name(".")
	if !opts.Format.Valid() {
		return nil, &failure.Error{File: dirName, Rule: RuleUnknownFormat, Msg: fmt.Sprintf("unknown format %q (want %s)", opts.Format, enum.Or(Formats))}
	}
	dfs, isDirFS := fsys.(*DirFS)
	var entries []fs.DirEntry
	var err error
	settle := func() bool { return false }
	if isDirFS {
		// The files Read reads are read while the directory is listed and while what
		// follows looks at the names, until settle.
		entries, settle, err = dfs.list(&prefetch{want: func(e fs.DirEntry) bool {
			k := kindOf(e)
			return (k == entrySQL || k == entrySum) && !controlName(e.Name())
		}, maxSize: opts.MaxFileSize, maxTotal: opts.MaxTotalSize, maxFiles: opts.MaxFiles})
		defer settle() // nothing may be left reading when Read returns
	} else {
		entries, err = fs.ReadDir(fsys, ".")
	}
	if err != nil {
		return nil, &failure.Error{File: dirName, Rule: RuleRead, Msg: err.Error()}
	}
	if len(entries) > opts.MaxFiles {
		return nil, &failure.Error{File: dirName, Rule: "limit-files", Msg: fmt.Sprintf("directory holds %d entries, more than the limit of %d", len(entries), opts.MaxFiles)}
	}

	d := &Dir{Path: opts.Path}
	// Sized once: at thousands of files, growing these slices step by step allocated more
	// than the files' own bytes, and fresh memory is most of what a large read costs.
	sources := make([]source, 0, len(entries))
	var goFiles, subdirs []string
	atlasSum := false
	jobs := make([]readJob, 0, len(entries))
	var reads []fileRead // where the files go that are not the listing's to read
	for i, e := range entries {
		n := e.Name()
		switch kindOf(e) {
		case entryIgnored:
			continue
		case entrySubdir:
			subdirs = append(subdirs, n)
			continue
		case entryAtlasSum:
			atlasSum = true
			continue
		case entryGo:
			goFiles = append(goFiles, n)
			continue
		}
		j := readJob{e: e}
		if de, ok := e.(*dirent); ok {
			j.fileRead = &de.read // read there by the listing's readers, or below
		} else {
			if reads == nil {
				reads = make([]fileRead, len(entries)-i)
			}
			j.fileRead = &reads[len(reads)-(len(entries)-i)]
		}
		if controlName(n) {
			j.err, j.done = &failure.Error{File: fmt.Sprintf("%q", n), Rule: "file-name", Msg: "name holds a control character"}, true
		}
		jobs = append(jobs, j)
	}
	if complete := settle(); isDirFS && !complete {
		dfs.readAll(jobs, opts.MaxFileSize, opts.MaxTotalSize)
	}
	// In directory order, as if read one by one: the first refusal wins.
	var total int64
	for i := range jobs {
		j := &jobs[i]
		n := j.e.Name()
		switch {
		case j.done:
		case isDirFS:
			j.b, j.err = dfs.readEntry(j.e, opts.MaxFileSize, nil, nil)
		default:
			j.b, j.err = readEntry(fsys, j.e, opts.MaxFileSize)
		}
		if j.err != nil {
			if j.err.File == "" {
				j.err.File = n
			}
			j.err.File = name(j.err.File)
			return nil, j.err
		}
		b := j.b
		total += int64(len(b))
		if total > opts.MaxTotalSize {
			return nil, &failure.Error{File: dirName, Rule: "limit-total-size", Msg: fmt.Sprintf("files add up to %d bytes by %s, more than the limit of %d", total, n, opts.MaxTotalSize)}
		}
		if n == SumFileName {
			d.Sum = b
			if j.summed {
				d.sumBody = &j.sum
			}
			continue
		}
		// b is this file's own buffer, never written again: its string shares the bytes.
		src := source{name: n, content: bytesString(b)}
		if j.summed {
			src.sum, src.hex, src.facts, src.known = &j.sum, &j.hex, j.facts, true
		}
		sources = append(sources, src)
	}

	d.Format = opts.Format
	if d.Format == FormatAuto {
		f, derr := detectFormat(sources, atlasSum)
		if derr != nil {
			derr.File = name(derr.File)
			return nil, derr
		}
		d.Format = f
	}
	if d.Format == FormatGoose {
		for _, g := range goFiles {
			if reGoMigration().MatchString(g) {
				return nil, &failure.Error{File: name(g), Rule: "goose-go-migration", Msg: "goose Go migrations cannot run from SQL; rewrite it as a .sql migration"}
			}
		}
	}
	if d.Format == FormatFlyway {
		if err := flywaySubdirs(fsys, subdirs, opts.MaxFiles); err != nil {
			err.File = name(err.File)
			return nil, err
		}
	}
	files, ferr := buildFiles(d.Format, sources, atlasSum)
	if ferr != nil {
		ferr.File = name(ferr.File)
		return nil, ferr
	}
	d.Files = files
	if opts.DeferStatements {
		return d, nil
	}
	if err := d.Split(); err != nil {
		return nil, err
	}
	return d, nil
}

// Split parses the sections, markers and statements of every file not parsed yet (Read
// parses all of them unless Options.DeferStatements), files side by side. A refusal is a
// *failure.Error naming the file, line and rule, as Read's: the first file's in order.
func (d *Dir) Split() error {
	errs := make([]*failure.Error, len(d.Files))
	parallel(len(d.Files), func(_, i int) {
		if file := d.Files[i]; !file.parsed {
			if errs[i] = parseSections(d.Format, file); errs[i] == nil {
				file.parsed = true
			}
		}
	})
	for i, err := range errs {
		if err == nil {
			continue
		}
		if err.File == "" {
			err.File = d.Files[i].Name
		}
		if d.Path != "" {
			err.File = path.Join(d.Path, err.File)
		}
		return err
	}
	return nil
}

var reGoMigration = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+_.*\.go$`) })

// flywaySubdirs refuses a .sql file below the top level of a Flyway directory: Flyway scans
// subdirectories, schemahook does not, so such a file would silently never run. At most max
// entries are looked at.
func flywaySubdirs(fsys fs.FS, subdirs []string, max int) *failure.Error {
	seen := 0
	var found string
	for _, sub := range subdirs {
		_ = fs.WalkDir(fsys, sub, func(p string, e fs.DirEntry, err error) error {
			seen++
			switch {
			case err != nil || seen > max:
				return fs.SkipAll
			case e.IsDir() && strings.HasPrefix(e.Name(), "."):
				return fs.SkipDir
			case !e.IsDir() && strings.HasSuffix(p, ".sql"):
				found = p
				return fs.SkipAll
			}
			return nil
		})
		if found != "" {
			return &failure.Error{File: found, Rule: "flyway-subdirectory", Msg: "Flyway would run this file from a subdirectory, schemahook reads only the top level: move it up"}
		}
	}
	return nil
}

// withDefaults fills the zero fields of Options.
func (o Options) withDefaults() Options {
	if o.Format == "" {
		o.Format = FormatAuto
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxTotalSize <= 0 {
		o.MaxTotalSize = DefaultMaxTotalSize
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	return o
}

// readEntry reads the file of a top-level entry of fsys, refusing what is not a regular file.
func readEntry(fsys fs.FS, e fs.DirEntry, maxSize int64) ([]byte, *failure.Error) {
	if err := checkRegular(fsys, e); err != nil {
		return nil, err
	}
	// A regular file's entry describes the file itself; os.Root and fstest.MapFS give its
	// size without another system call, so readLimited need not Stat the open file.
	var info fs.FileInfo
	if e.Type().IsRegular() {
		info, _ = e.Info()
	}
	return readLimited(fsys, e.Name(), maxSize, info)
}

// readLimited reads one file but never more than max+1 bytes, whatever its Stat says. It
// reads to the end of the file (a wrapping fs.FS may watch for io.EOF) into one buffer
// sized from Stat, so a file's bytes are copied once, from the file into that buffer. info,
// when not nil, is the file's FileInfo as already known, used instead of a Stat.
func readLimited(fsys fs.FS, n string, maxSize int64, info fs.FileInfo) ([]byte, *failure.Error) {
	f, err := fsys.Open(n)
	if err != nil {
		return nil, &failure.Error{Rule: RuleRead, Msg: err.Error()}
	}
	defer f.Close()
	size := int64(0)
	if info == nil {
		info, _ = f.Stat()
	}
	if st := info; st != nil {
		if st.Size() > maxSize {
			return nil, &failure.Error{Rule: "limit-file-size", Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", st.Size(), maxSize)}
		}
		size = st.Size()
	}
	b, err := readBounded(f.Read, size, maxSize, false, nil)
	if err != nil {
		return nil, &failure.Error{Rule: RuleRead, Msg: err.Error()}
	}
	if int64(len(b)) > maxSize {
		return nil, &failure.Error{Rule: "limit-file-size", Msg: fmt.Sprintf("file is more than %d bytes, the limit", maxSize)}
	}
	return b, nil
}

// readBounded reads with read (which ends with io.EOF) into one buffer sized for size bytes
// (what a stat said, 0 when unknown), so the bytes are copied once, and never more than
// maxSize+1 bytes in all: one more than the limit shows a file over it. With sizeIsEOF, a
// read that stops short of its buffer exactly at size is the end too, as it is for a regular
// file, which saves the read that would give io.EOF. buf, when it has room for size+1
// bytes, is the buffer to read into (an arena's).
func readBounded(read func([]byte) (int, error), size, maxSize int64, sizeIsEOF bool, buf []byte) ([]byte, error) {
	limit := maxSize + 1
	initial := int64(512)
	if size > 0 {
		initial = size + 1 // the extra byte is where the end shows
	}
	b := buf[:0]
	if int64(cap(b)) < min(initial, limit) {
		b = make([]byte, 0, min(initial, limit))
	}
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow: the file is longer than its stat said
		}
		buf := b[len(b):cap(b)]
		if room := limit - int64(len(b)); int64(len(buf)) > room {
			buf = buf[:room]
		}
		n, err := read(buf)
		b = b[:len(b)+n]
		if err == io.EOF || (sizeIsEOF && size > 0 && int64(len(b)) == size && n < len(buf)) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// bytesString gives b as a string without copying it; b must never change afterwards.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// stringBytes gives the bytes of s without copying them, for reading only.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// checkRegular refuses an entry that is not a regular file. A symlink is resolved through
// fsys only, so it is followed exactly as far as fsys confines it (an os.Root refuses one
// that leads outside).
func checkRegular(fsys fs.FS, e fs.DirEntry) *failure.Error {
	mode := e.Type()
	if mode&fs.ModeSymlink != 0 {
		st, err := fs.Stat(fsys, e.Name())
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return &failure.Error{Rule: "not-regular-file", Msg: "is a symlink that does not resolve inside the directory: " + err.Error()}
		}
		if target := st.Mode().Type(); !target.IsRegular() {
			return &failure.Error{Rule: "not-regular-file", Msg: fmt.Sprintf("is a symlink to a %s, not to a regular file", typeName(target))}
		}
		return nil
	}
	if !mode.IsRegular() {
		return &failure.Error{Rule: "not-regular-file", Msg: fmt.Sprintf("is a %s, not a regular file", typeName(mode))}
	}
	return nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// buildFiles gives the sources their meaning in format f, orders them and refuses duplicates.
// The sources are looked at side by side (at thousands of files, one by one, this was a
// tenth of a nothing-to-do run, after all the reading); the refusal of the first source in
// order wins, as if they were looked at one by one.
func buildFiles(f Format, sources []source, atlasSum bool) ([]*File, *failure.Error) {
	n := len(sources)
	block := make([]File, n) // the Files, allocated together (a down file's holds its name, version and content)
	down := make([]bool, n)  // golang-migrate .down.sql and Flyway U files, attached below
	var sums []byte          // the checksums Read did not take, in hex
	if slices.ContainsFunc(sources, func(s source) bool { return s.hex == nil }) {
		sums = make([]byte, n*hex.EncodedLen(sha256.Size))
	}
	var mu sync.Mutex
	first, firstErr := n, (*failure.Error)(nil)
	parallel(n, func(_, i int) {
		s := &sources[i]
		version, desc, kind, err := parseName(f, s.name)
		if err == nil {
			if err = s.factsOf().err; err != nil {
				err.File = s.name
			}
		}
		if err != nil {
			mu.Lock()
			if i < first {
				first, firstErr = i, err
			}
			mu.Unlock()
			return
		}
		if kind == "down" || kind == "undo" {
			down[i] = true
			block[i] = File{Name: s.name, Version: version, Content: s.content}
			return
		}
		var checksum string
		if s.hex != nil {
			checksum = bytesString(s.hex[:]) // the reading goroutine's, never written again
		} else {
			if s.sum == nil {
				b := sha256.Sum256(stringBytes(s.content))
				s.sum = &b
			}
			at := sums[i*hex.EncodedLen(sha256.Size) : (i+1)*hex.EncodedLen(sha256.Size)]
			hex.Encode(at, s.sum[:])
			checksum = bytesString(at)
		}
		block[i] = File{
			Name: s.name, Version: version, Description: desc, Repeatable: kind == "repeatable",
			Content: s.content, Checksum: checksum, sum: s.sum,
			MarkerFormat: f == FormatGoose || f == FormatDbmate || (f == FormatNative && atlasSum),
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	files := make([]*File, 0, n)
	var downs []*File
	for i := range block {
		if down[i] {
			downs = append(downs, &block[i])
		} else {
			files = append(files, &block[i])
		}
	}

	byVersion := func(a, b *File) int {
		if a.Repeatable != b.Repeatable {
			if a.Repeatable {
				return 1
			}
			return -1
		}
		if a.Repeatable {
			if c := strings.Compare(a.Description, b.Description); c != 0 {
				return c
			}
		} else if c := CompareVersions(a.Version, b.Version); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	}
	// Names sorted as text (Read's order) are usually in version order already: checking
	// that costs one comparison a file instead of a sort's many.
	if !slices.IsSortedFunc(files, byVersion) {
		slices.SortStableFunc(files, byVersion)
	}
	for i := 1; i < len(files); i++ {
		a, b := files[i-1], files[i]
		if a.Repeatable != b.Repeatable {
			continue
		}
		if !a.Repeatable && CompareVersions(a.Version, b.Version) == 0 {
			return nil, &failure.Error{File: b.Name, Rule: "duplicate-version", Msg: fmt.Sprintf("version %s is also the version of %s", b.Version, a.Name)}
		}
		if a.Repeatable && a.Description == b.Description {
			return nil, &failure.Error{File: b.Name, Rule: "duplicate-description", Msg: fmt.Sprintf("repeatable %q is also described by %s", b.Description, a.Name)}
		}
	}

	// The versioned files come first, in version order (distinct versions: a duplicate was
	// refused above), so a down file's is found by halving, not by a walk per down file.
	versioned := files
	if r := slices.IndexFunc(files, func(x *File) bool { return x.Repeatable }); r >= 0 {
		versioned = files[:r]
	}
	for _, dn := range downs {
		i, found := slices.BinarySearchFunc(versioned, dn.Version, func(x *File, v string) int { return CompareVersions(x.Version, v) })
		if !found {
			want := "its .up.sql"
			if f == FormatFlyway {
				want = "a V file of the same version"
			}
			return nil, &failure.Error{File: dn.Name, Rule: "orphan-down", Msg: fmt.Sprintf("no migration with version %s: a down file needs %s", dn.Version, want)}
		}
		if files[i].DownName != "" {
			return nil, &failure.Error{File: dn.Name, Rule: "duplicate-version", Msg: fmt.Sprintf("version %s already has the down file %s", dn.Version, files[i].DownName)}
		}
		files[i].Down, files[i].DownName = dn.Content, dn.Name
	}

	return files, nil
}

// parseSections finds a file's Up and Down sections and markers, then its statements.
func parseSections(f Format, file *File) *failure.Error {
	idx := file.index()
	var blocks []gooseBlock
	var err *failure.Error
	switch f {
	case FormatGoose:
		blocks, err = parseGoose(file)
	case FormatDbmate:
		err = parseDbmate(file)
	case FormatNative:
		err = parseAtlasMarkers(file)
	default:
		file.Up, file.UpOffset = file.Content, 0
	}
	if err != nil {
		return err
	}
	// Statements outside goose blocks come from the parser; each block is one statement.
	at, end := file.UpOffset, file.UpOffset+len(file.Up)
	for _, b := range append(blocks, gooseBlock{end, end, end}) {
		stmts, err := splitRange(file.Content, idx, at, b.start)
		if err != nil {
			return err
		}
		if file.Statements == nil {
			file.Statements = stmts
		} else {
			file.Statements = append(file.Statements, stmts...)
		}
		if b.start == end {
			break
		}
		inner, err := splitRange(file.Content, idx, b.start, b.end)
		if err != nil {
			return err
		}
		text := file.Content[b.start:b.end]
		// Like the parser's statements, a block's SQL goes without its final semicolon.
		if trimmed := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), ";")); trimmed != "" {
			off := b.start + len(text) - len(strings.TrimLeft(text, " \t\r\n\v\f"))
			st := Statement{SQL: trimmed, Offset: off, Parts: len(inner)}
			st.Line, st.Col = idx.pos(off)
			for _, s := range inner {
				st.NoTx = st.NoTx || s.NoTx
			}
			file.Statements = append(file.Statements, st)
		}
		at = b.next
	}
	return nil
}

// controlName reports whether a file name holds a control character, which Read refuses.
func controlName(n string) bool {
	// Byte by byte: every byte of a multi-byte UTF-8 sequence (or of an invalid one, which
	// decodes as U+FFFD) is 0x80 or above, so only ASCII control characters match.
	for i := 0; i < len(n); i++ {
		if n[i] < ' ' || n[i] == 0x7f {
			return true
		}
	}
	return false
}
