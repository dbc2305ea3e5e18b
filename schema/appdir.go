package schema

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/migrations"
)

// ErrStale is wrapped by Refresh's error when check finds schema.sql stale or missing.
var ErrStale = errors.New("stale schema.sql")

// ReadAppDir reads the migrations directory of appDir as its schemahook.yaml (or the
// defaults) says, with the sum file checked.
func ReadAppDir(appDir string) (*migrations.Dir, error) {
	root, err := os.OpenRoot(appDir)
	if err != nil {
		return nil, fmt.Errorf("app directory: %w", err)
	}
	defer root.Close()
	cfg := config.Default()
	if data, err := root.ReadFile(config.FileName); err == nil {
		if cfg, err = config.Load(filepath.Join(appDir, config.FileName), data); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	migDir := path.Clean(cfg.Spec.Migrations.Dir)
	sub, err := fs.Sub(root.FS(), migDir)
	if err != nil {
		return nil, err
	}
	dir, err := migrations.Read(sub, migrations.Options{Format: migrations.Format(cfg.Spec.Migrations.Format), Path: filepath.ToSlash(filepath.Join(appDir, migDir))})
	if err != nil {
		return nil, err
	}
	if err := dir.CheckSum(); err != nil {
		return nil, err
	}
	return dir, nil
}

// Refresh builds the schema of appDir's migrations and writes appDir/schema.sql, or with
// check compares it with the file and returns an error wrapping ErrStale naming what
// differs. It returns the file's path.
func Refresh(ctx context.Context, appDir string, check bool, o BuildOptions) (string, error) {
	file := filepath.Join(appDir, FileName)
	dir, err := ReadAppDir(appDir)
	if err != nil {
		return file, err
	}
	s, err := Build(ctx, dir, o)
	if err != nil {
		return file, err
	}
	want := File(DirSum(dir.ComputeSum()), filepath.ToSlash(appDir), s.Text())
	if !check {
		return file, os.WriteFile(file, []byte(want), 0o644)
	}
	have, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return file, fmt.Errorf("%s: %w: the file does not exist; run `schemahook schema %s` and commit it", file, ErrStale, appDir)
	}
	if err != nil {
		return file, err
	}
	if string(have) == want {
		return file, nil
	}
	why := "its header differs"
	if _, _, body, err := ReadFile(file, string(have)); err == nil {
		old, _ := Parse(body)
		var diffs []string
		for _, d := range Diff(old, s) {
			diffs = append(diffs, d.String())
		}
		if len(diffs) > 0 {
			why = "the migrations build a different schema: " + strings.Join(diffs, ", ")
		} else if sum, _, _, _ := ReadFile(file, string(have)); sum != DirSum(dir.ComputeSum()) {
			why = fmt.Sprintf("it was built from migrations %s, the directory is now %s", sum, DirSum(dir.ComputeSum()))
		}
	}
	return file, fmt.Errorf("%s: %w: %s; run `schemahook schema %s` and commit it", file, ErrStale, why, appDir)
}
