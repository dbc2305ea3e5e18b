package devdb

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Environment variables that tell schemahook where Postgres programs are. The image needs
// none of them (it uses Debian's /usr/lib/postgresql/<major>/bin layout); they are for other
// machines, tests and the demo.
const (
	// EnvBin pins the server binaries (initdb, postgres) to one directory: nothing else is
	// searched, so its major decides.
	EnvBin = "SCHEMAHOOK_PG_BIN"
	// EnvPath lists more directories (separated by ':') holding server or client binaries,
	// searched before the usual locations: e.g. one per major of scripts/postgres/ensure.sh.
	EnvPath = "SCHEMAHOOK_PG_PATH"
	// EnvClientBin pins the client tools (pg_dump, psql) to one directory.
	EnvClientBin = "SCHEMAHOOK_PG_CLIENT_BIN"
)

// Bin is a directory of Postgres programs and the major version they are.
type Bin struct {
	Dir   string
	Major int
}

func (b Bin) String() string { return fmt.Sprintf("%s (major %d)", b.Dir, b.Major) }

// envDirs splits a ':'-separated list of directories, dropping empty entries.
func envDirs(name string) []string {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv(name)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// debianDirs lists /usr/lib/postgresql/<major>/bin, newest major first, with the wanted
// major's in front: the image's layout and Debian's.
func debianDirs(want int) []string {
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(m, func(a, b string) int { return dirMajor(b) - dirMajor(a) })
	if want > 0 {
		m = append([]string{fmt.Sprintf("/usr/lib/postgresql/%d/bin", want)}, m...)
	}
	return m
}

// dirMajor reads the major from /usr/lib/postgresql/<major>/bin, for ordering only.
func dirMajor(dir string) int {
	n, _ := ParseMajor(filepath.Base(filepath.Dir(dir)))
	return n
}

// serverDirs lists where server binaries may live: $SCHEMAHOOK_PG_PATH, the Debian/Ubuntu
// layout (the image's), RPM's and Alpine's, PATH, source installs.
func serverDirs(want int) []string {
	dirs := append(envDirs(EnvPath), debianDirs(want)...)
	if want > 0 {
		dirs = append(dirs, fmt.Sprintf("/usr/pgsql-%d/bin", want), fmt.Sprintf("/usr/libexec/postgresql%d", want))
	}
	dirs = append(dirs, envDirs("PATH")...)
	return append(dirs, "/usr/local/bin", "/usr/local/pgsql/bin", "/usr/bin", "/usr/lib/postgresql/bin")
}

// FindServer returns a directory holding initdb and postgres for a dev server of a target
// of major want: that major when found, else the nearest newer one (a schema dumped from an
// older server loads into a newer one, not the other way round). want 0 takes the first
// found. $SCHEMAHOOK_PG_BIN, when set, is the only directory considered.
func FindServer(want int) (Bin, error) {
	if d := os.Getenv(EnvBin); d != "" {
		return findServer(want, []string{d}, "$"+EnvBin+"="+d)
	}
	return findServer(want, serverDirs(want), "$"+EnvPath+", /usr/lib/postgresql/<major>/bin or PATH")
}

// findServer is FindServer over the directories dirs (described as where in errors).
func findServer(want int, dirs []string, where string) (Bin, error) {
	var found, best Bin
	// A symlinked initdb (/usr/local/bin -> /usr/lib/postgresql/15/bin) means its own
	// directory, where the rest of that installation lives.
	own := func(d string) (string, bool) {
		if real, err := filepath.EvalSymlinks(filepath.Join(d, "initdb")); err == nil {
			d = filepath.Dir(real)
		}
		return d, true
	}
	seen := scan(dirs, "postgres", "initdb", own, func(b Bin) bool {
		if want == 0 || b.Major == want {
			found = b
			return true
		}
		if b.Major > want && (best.Major == 0 || b.Major < best.Major) {
			best = b
		}
		return false
	})
	if found.Major > 0 {
		return found, nil
	}
	if best.Major > 0 {
		return best, nil
	}
	what := "any version"
	if want > 0 {
		what = fmt.Sprintf("major version %d (the target's) or newer", want)
	}
	fix := "install them (the schemahook image has them for every supported major in /usr/lib/postgresql/<major>/bin)"
	if want > 0 {
		fix = fmt.Sprintf("install the Postgres %d server (the schemahook image has every supported major in /usr/lib/postgresql/<major>/bin)", want)
	}
	return Bin{}, notFound(fmt.Sprintf("no Postgres server binaries (initdb, postgres) of %s found in %s", what, where), seen,
		fix+", point $"+EnvBin+" at a directory holding them, or set dev.url (--dev-url) to a dev server")
}

// FindClient returns a directory holding pg_dump and psql of major min or newer, for the
// schema copy of a target of major min: pg_dump refuses servers newer than itself, and psql
// must be the one of pg_dump's installation to read its output. It prefers the newest found;
// near (e.g. the dev server's directory) is searched first. $SCHEMAHOOK_PG_CLIENT_BIN, when
// set, is the only directory considered.
func FindClient(min int, near ...string) (Bin, error) {
	if d := os.Getenv(EnvClientBin); d != "" {
		return findClient(min, []string{d}, "in $"+EnvClientBin+"="+d)
	}
	dirs := slices.Concat(near, envDirs(EnvBin), envDirs(EnvPath), []string{"/usr/local/bin"},
		debianDirs(0), envDirs("PATH"), []string{"/usr/bin"})
	return findClient(min, dirs, "next to the dev server, in $"+EnvPath+", /usr/local/bin, /usr/lib/postgresql/<major>/bin or PATH")
}

// findClient is FindClient over the directories dirs (described as where in errors).
func findClient(min int, dirs []string, where string) (Bin, error) {
	var best Bin
	// /usr/local/bin/pg_dump -> /usr/lib/postgresql/18/bin/pg_dump: use that installation,
	// when its psql is there too. Debian's /usr/bin/pg_dump is pg_wrapper, a perl script
	// that runs one of /usr/lib/postgresql/<major>/bin, which are searched anyway (unless
	// it is the one directory pinned).
	own := func(d string) (string, bool) {
		if real, err := filepath.EvalSymlinks(filepath.Join(d, "pg_dump")); err == nil {
			if filepath.Base(real) == "pg_wrapper" && len(dirs) > 1 {
				return "", false
			}
			if isExec(filepath.Join(filepath.Dir(real), "psql")) {
				d = filepath.Dir(real)
			}
		}
		return d, true
	}
	seen := scan(dirs, "pg_dump", "psql", own, func(b Bin) bool {
		if b.Major >= min && b.Major > best.Major {
			best = b
		}
		return false
	})
	if best.Major > 0 {
		return best, nil
	}
	return Bin{}, notFound(fmt.Sprintf("no pg_dump and psql of major version %d (the target's) or newer found %s", min, where), seen,
		fmt.Sprintf("install the Postgres client tools of major %d or newer (the schemahook image has pg_dump and psql of the newest major in /usr/local/bin), or point $%s at a directory holding them", min, EnvClientBin))
}

// scan visits, in order, each distinct installation among dirs holding the programs prog and
// other, as own resolves a directory to its installation's (false skips it), with prog's
// major, until visit returns true. It returns what it saw, for error messages.
func scan(dirs []string, prog, other string, own func(string) (string, bool), visit func(Bin) bool) []string {
	var seen []string
	done := map[string]bool{}
	for _, d := range dirs {
		d = realDir(d)
		if !isExec(filepath.Join(d, prog)) || !isExec(filepath.Join(d, other)) {
			continue
		}
		d, ok := own(d)
		if !ok || done[d] {
			continue
		}
		done[d] = true
		major, err := progMajor(d, prog)
		if err != nil {
			seen = append(seen, fmt.Sprintf("%s (%v)", d, err))
			continue
		}
		b := Bin{Dir: d, Major: major}
		seen = append(seen, b.String())
		if visit(b) {
			break
		}
	}
	return seen
}

// notFound is the error of a search: what was wanted, what was seen instead, and the fix.
func notFound(msg string, seen []string, fix string) error {
	if len(seen) > 0 {
		msg += "; found only: " + strings.Join(seen, ", ")
	} else {
		msg += "; found none"
	}
	return errors.New(msg + "; fix: " + fix)
}

// realDir resolves a symlinked directory (/bin -> /usr/bin), so one directory is looked at
// and reported once.
func realDir(d string) string {
	if r, err := filepath.EvalSymlinks(d); err == nil {
		return r
	}
	return d
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// progMajor runs `PROG --version` ("postgres (PostgreSQL) 15.14 (Debian ...)").
func progMajor(dir, prog string) (int, error) {
	out, err := exec.Command(filepath.Join(dir, prog), "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("%s --version: %w", prog, err)
	}
	return ParseMajor(string(out))
}
