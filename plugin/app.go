package plugin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// app is an opened app directory.
type app struct {
	root    *os.Root
	fsys    fs.FS  // the app directory inside root
	rel     string // the app directory relative to the repository root ("." when unknown)
	absName string // the app directory's base name, the last fallback for the object names
}

// open finds the repository root (appDir minus ARGOCD_APP_SOURCE_PATH when that is its
// suffix, else appDir itself) and opens it with os.OpenRoot, so no path or symlink can
// lead a read outside it.
func open(appDir string, env Env) (*app, error) {
	abs, err := filepath.Abs(appDir)
	if err != nil {
		return nil, fmt.Errorf("app directory %s: %w", appDir, err)
	}
	rootDir, rel := abs, "."
	if sp := path.Clean(filepath.ToSlash(env.SourcePath)); env.SourcePath != "" && sp != "." && !strings.HasPrefix(sp, "../") && !path.IsAbs(sp) {
		suffix := string(filepath.Separator) + filepath.FromSlash(sp)
		if strings.HasSuffix(abs, suffix) {
			rootDir, rel = strings.TrimSuffix(abs, suffix), sp
			if rootDir == "" {
				rootDir = string(filepath.Separator)
			}
		}
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", rootDir, err)
	}
	fsys, err := fs.Sub(root.FS(), rel)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("open app directory %s: %w", rel, err)
	}
	return &app{root: root, fsys: fsys, rel: rel, absName: filepath.Base(abs)}, nil
}

// display names a file inside the app directory as the user knows it (repository-relative).
func (a *app) display(name string) string {
	return path.Join(a.rel, name)
}

// readCapped reads one file of the app directory, refusing it past max bytes and naming a
// symlink that leads out of the repository.
func readCapped(a *app, name string, max int64) ([]byte, error) {
	f, err := a.fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", a.display(name), describeOpenErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.display(name), err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file [not-regular-file]", a.display(name))
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes is over the %d byte limit [limit-file-size]", a.display(name), st.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.display(name), err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: over the %d byte limit [limit-file-size]", a.display(name), max)
	}
	return b, nil
}

// describeOpenErr makes os.Root's refusal of a symlink out of the repository say so.
func describeOpenErr(err error) error {
	if strings.Contains(err.Error(), "escapes") {
		return errors.New("is a symlink that leads outside the repository: refused [symlink-outside]")
	}
	return rootErr(err)
}

// rootErr shortens os.Root errors to their cause.
func rootErr(err error) error {
	if err == nil {
		return errors.New("not a directory")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
