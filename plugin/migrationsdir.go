package plugin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/render"
)

// readMigrations reads and checks the migrations directory migDir of the app (format
// "" or auto detects) and gives its files, byte for byte, and the directory it read (its format, its sum). The directory
// gets an os.Root of its own: every file is then one openat, and still nothing leads
// outside (this root is inside the repository's).
func readMigrations(a *app, migDir string, format migrations.Format) ([]render.File, *migrations.Dir, error) {
	if st, err := fs.Stat(a.fsys, migDir); err != nil || !st.IsDir() {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: %w", a.display(migDir), describeOpenErr(err))
		}
		return nil, nil, fmt.Errorf("%s: migrations directory not found (spec.migrations.dir) [migrations-dir]", a.display(migDir))
	}
	migRoot, err := a.root.OpenRoot(path.Join(a.rel, migDir))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", a.display(migDir), describeOpenErr(err))
	}
	defer migRoot.Close()
	lister := &listingFS{FS: migRoot.FS(), root: migRoot}
	dir, err := migrations.Read(lister, migrations.Options{
		Format:       format,
		MaxFileSize:  MaxMigrationFileSize,
		MaxTotalSize: MaxMigrationsSize,
		MaxFiles:     MaxMigrationFiles,
		Path:         a.display(migDir),
	})
	if err != nil {
		return nil, nil, err
	}
	if dir.Sum != nil {
		if err := dir.CheckSum(); err != nil {
			return nil, nil, err
		}
	}
	files, err := dirFiles(lister, dir, a.display(migDir))
	if err != nil {
		return nil, nil, err
	}
	return files, dir, nil
}

// dirFiles are the files of the migrations directory the Job needs (migrations.DirFile),
// byte for byte. Read has already checked types and sizes and holds the bytes of every
// .sql file and of the sum file, which the ConfigMaps share rather than copy; only
// atlas.sum, which Read does not read, is read here. A symlink, which Read would follow
// inside the directory, is refused, so the repository ships only real files.
func dirFiles(dirFS *listingFS, dir *migrations.Dir, display string) ([]render.File, error) {
	read := map[string]string{}
	for _, f := range dir.Files {
		read[f.Name] = f.Content
		if f.DownName != "" {
			read[f.DownName] = f.Down
		}
	}
	if dir.Sum != nil {
		read[migrations.SumFileName] = string(dir.Sum)
	}
	// migrations.Read has listed the directory through dirFS; list it again only if not.
	entries := dirFS.top
	if entries == nil {
		var err error
		if entries, err = fs.ReadDir(dirFS.FS, "."); err != nil {
			return nil, fmt.Errorf("%s: %w", display, rootErr(err))
		}
	}
	var files []render.File
	for _, e := range entries {
		if !migrations.DirFile(e) {
			continue
		}
		n := e.Name()
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", path.Join(display, n))
		}
		content, ok := read[n]
		if !ok {
			b, err := fs.ReadFile(dirFS.FS, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path.Join(display, n), rootErr(err))
			}
			content = string(b)
		}
		files = append(files, render.File{Name: n, Content: content})
	}
	return files, nil
}

// listingFS is the migrations directory's os.Root as migrations.Read reads it. It keeps the
// listing of the top directory, so the files for the ConfigMaps are not listed a second
// time, and opens files non-blocking: os then takes a descriptor as it is, where a blocking
// open costs four fcntl calls per file to try it on the poller and back (a tenth of a
// render's CPU at 1,000 files). A regular file reads the same either way; a named pipe
// swapped in after the listing cannot stall the read.
type listingFS struct {
	fs.FS
	root *os.Root
	top  []fs.DirEntry // the entries of ".", once listed
}

// Open is os.Root's FS Open with O_NONBLOCK: the same checks, the same confinement
// (symlinks resolve inside the root only), the same errors.
func (l *listingFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := l.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadDir keeps fs.ReadDir on the underlying FS's fast path.
func (l *listingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(l.FS, name)
	if err == nil && name == "." {
		l.top = entries
	}
	return entries, err
}
