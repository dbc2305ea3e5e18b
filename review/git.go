package review

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing/fstest"
)

// Git is read with the git command, not a Go library: the command is where CI runs anyway
// (the Action, pre-commit, GitLab), it knows every repository layout (worktrees, shallow and
// partial clones, alternates) and it keeps a Git implementation out of the shipped binary.
// Only a few plumbing commands are used, each with a fixed argument shape.

// repo is the Git repository that holds an app directory.
type repo struct {
	top string // absolute work tree root, symlinks resolved
}

// gitCmd runs git in dir and returns its standard output; a failure carries git's stderr.
func gitCmd(dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("--git-base needs the git command, which is not on PATH")
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out.Bytes(), nil
}

// openRepo finds the repository whose work tree holds dir.
func openRepo(dir string) (*repo, error) {
	out, err := gitCmd(dir, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s is not in a Git work tree: %w", dir, err)
	}
	top, err := filepath.EvalSymlinks(strings.TrimSpace(string(out)))
	if err != nil {
		return nil, err
	}
	return &repo{top: top}, nil
}

// resolve turns the base revision as given (a branch, tag, commit or origin/main) into a
// commit id. A name git does not know is a usage error naming it, with the usual cause in CI.
func (r *repo) resolve(ref string) (string, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("--git-base %q: not a revision", ref)
	}
	out, err := gitCmd(r.top, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("--git-base %s: no such commit in %s (in CI, fetch it first: actions/checkout with fetch-depth: 0, or git fetch origin %s)", ref, r.top, ref)
	}
	return strings.TrimSpace(string(out)), nil
}

// rel is dir relative to the work tree root, slash-separated ("." for the root).
func (r *repo) rel(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r.top, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the Git work tree %s", dir, r.top)
	}
	return filepath.ToSlash(rel), nil
}

// tree reads the files under dir (relative to the root) as they are in commit, as a file
// system rooted at dir; an empty one when the commit has no such directory. Symlinks keep
// their mode, so the migrations reader refuses them as it does in the work tree.
func (r *repo) tree(commit, dir string) (fstest.MapFS, error) {
	fsys := fstest.MapFS{}
	spec := dir + "/"
	if dir == "." {
		spec = "."
	}
	out, err := gitCmd(r.top, nil, "ls-tree", "-r", "-z", "--full-tree", commit, "--", spec)
	if err != nil {
		return nil, err
	}
	type entry struct {
		name string
		mode fs.FileMode
	}
	var ids []string
	var entries []entry
	for _, rec := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if rec == "" {
			continue
		}
		meta, name, ok := strings.Cut(rec, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 || f[1] != "blob" {
			continue // submodules and anything not a file
		}
		if dir != "." {
			name = strings.TrimPrefix(name, dir+"/")
		}
		mode := fs.FileMode(0o644)
		if f[0] == "120000" {
			mode = fs.ModeSymlink | 0o777
		}
		ids = append(ids, f[2])
		entries = append(entries, entry{path.Clean(name), mode})
	}
	if len(ids) == 0 {
		return fsys, nil
	}
	// One cat-file process for every blob: "<id> blob <size>\n<content>\n" each.
	blobs, err := gitCmd(r.top, strings.NewReader(strings.Join(ids, "\n")+"\n"), "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(bytes.NewReader(blobs))
	for i, e := range entries {
		head, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file: short output at %s", e.name)
		}
		f := strings.Fields(head)
		if len(f) != 3 || f[0] != ids[i] {
			return nil, fmt.Errorf("git cat-file: unexpected %q for %s", strings.TrimSpace(head), e.name)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("git cat-file: bad size for %s", e.name)
		}
		data := make([]byte, n+1)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, fmt.Errorf("git cat-file: short content of %s", e.name)
		}
		fsys[e.name] = &fstest.MapFile{Data: data[:n], Mode: e.mode}
	}
	return fsys, nil
}

// changed lists the paths (relative to the root) that differ between commit and the work
// tree, untracked files included, so a pre-commit run sees files not yet added.
func (r *repo) changed(commit string) ([]string, error) {
	diff, err := gitCmd(r.top, nil, "diff", "--name-only", "--no-renames", "-z", commit, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := gitCmd(r.top, nil, "ls-files", "--others", "--exclude-standard", "-z")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range strings.Split(string(diff)+string(untracked), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
