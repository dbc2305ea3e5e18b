package plugin

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/render"
)

// readMigrations reads and checks the migrations directory migDir of the app (format
// "" or auto detects) and gives its files, byte for byte, and the directory it read (its format, its sum). The directory
// gets an os.Root of its own, read as a migrations.DirFS (files in parallel, each with
// one openat2), and still nothing leads outside (this root is inside the repository's).
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
	dirFS := migrations.RootDir(migRoot)
	defer dirFS.Close()
	dir, err := migrations.Read(dirFS, migrations.Options{
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
	files, err := dirFiles(dirFS, dir, a.display(migDir))
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
func dirFiles(dirFS *migrations.DirFS, dir *migrations.Dir, display string) ([]render.File, error) {
	n := len(dir.Files) + 1 // and the sum file
	for _, f := range dir.Files {
		if f.DownName != "" {
			n++
		}
	}
	read := make(map[string]string, n)
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
	entries := dirFS.Listed()
	if entries == nil {
		var err error
		if entries, err = dirFS.ReadDir("."); err != nil {
			return nil, fmt.Errorf("%s: %w", display, rootErr(err))
		}
	}
	files := make([]render.File, 0, len(entries))
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
			b, err := fs.ReadFile(dirFS, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path.Join(display, n), rootErr(err))
			}
			content = string(b)
		}
		files = append(files, render.File{Name: n, Content: content})
	}
	return files, nil
}
