package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

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
	rec := &recordingFS{fsys: migRoot.FS(), files: map[string][]byte{}}
	dir, err := migrations.Read(rec, migrations.Options{
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
	files, err := dirFiles(rec, a.display(migDir))
	if err != nil {
		return nil, nil, err
	}
	return files, dir, nil
}

// dirFiles are the files of the migrations directory the Job needs (migrations.DirFile),
// byte for byte. Read has already checked types and sizes; a symlink, which Read would
// follow inside the directory, is refused here, so the repository ships only real files.
func dirFiles(dirFS *recordingFS, display string) ([]render.File, error) {
	// migrations.Read has listed the directory through dirFS; list it again only if not.
	entries := dirFS.top
	if entries == nil {
		var err error
		if entries, err = fs.ReadDir(dirFS.fsys, "."); err != nil {
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
		b, ok := dirFS.files[n]
		if !ok {
			var err error
			if b, err = fs.ReadFile(dirFS.fsys, n); err != nil {
				return nil, fmt.Errorf("%s: %w", path.Join(display, n), rootErr(err))
			}
		}
		files = append(files, render.File{Name: n, Content: string(b)})
	}
	return files, nil
}

// recordingFS keeps the bytes of every file read to its end through it, and the listing of
// the top directory, so what migrations.Read has listed and read (and checked) is not
// listed or read a second time for the ConfigMaps.
type recordingFS struct {
	fsys  fs.FS
	files map[string][]byte
	top   []fs.DirEntry // the entries of ".", once listed
}

func (r *recordingFS) Open(name string) (fs.File, error) {
	f, err := r.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return &recordingFile{File: f, name: name, fs: r}, nil
}

// ReadDir keeps fs.ReadDir on the underlying FS's fast path.
func (r *recordingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(r.fsys, name)
	if err == nil && name == "." {
		r.top = entries
	}
	return entries, err
}

type recordingFile struct {
	fs.File
	name string
	fs   *recordingFS
	buf  bytes.Buffer
}

func (f *recordingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.buf.Write(p[:n])
	if err == io.EOF {
		f.fs.files[f.name] = f.buf.Bytes()
	}
	return n, err
}
