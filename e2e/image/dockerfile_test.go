// Package image checks the repository's Dockerfile without Docker: its build stage's steps
// run for real on a copy of the build context (so the image is built through the Makefile,
// with the flags it holds), and the runtime stage holds what the sidecar and the hook Job
// need and nothing else.
package image

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var repoRoot, _ = filepath.Abs("../..")

// instruction is one Dockerfile line after joining continuations.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

type stage struct {
	from, name string
	steps      []instruction
}

// parseDockerfile splits a Dockerfile into stages; enough of the syntax for ours (comments,
// backslash continuations), and it fails on anything it does not know.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		switch in.cmd {
		case "FROM":
			fields := strings.Fields(in.args)
			s := stage{from: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
		case "WORKDIR", "COPY", "RUN", "ARG", "ENV", "USER", "ENTRYPOINT", "CMD":
			require.NotEmpty(t, stages, "%s before FROM", in.cmd)
			stages[len(stages)-1].steps = append(stages[len(stages)-1].steps, in)
		default:
			t.Fatalf("Dockerfile: instruction %s is not checked by this test", in.cmd)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	require.NoError(t, sc.Err())
	flush()
	return stages
}

func steps(s stage, cmd string) []string {
	var out []string
	for _, in := range s.steps {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func TestRuntimeStageHoldsOnlyPostgresAndTheBinary(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	require.Len(t, stages, 2, "a build stage and the runtime stage")
	build, runtime := stages[0], stages[1]

	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	require.NotNil(t, goVersion, "go.mod has a go line")
	require.Equal(t, "golang:"+string(goVersion[1])+"-bookworm", build.from, "builder runs go.mod's Go on Debian bookworm (cgo, same libc as the runtime)")
	require.Equal(t, "debian:bookworm-slim", runtime.from)

	var installed []string
	for _, run := range steps(runtime, "RUN") {
		for _, cmd := range strings.Split(run, "&&") {
			fields := strings.Fields(cmd)
			if len(fields) > 2 && fields[0] == "apt-get" && fields[1] == "install" {
				for _, f := range fields[2:] {
					if !strings.HasPrefix(f, "-") {
						installed = append(installed, f)
					}
				}
				require.Contains(t, fields, "--no-install-recommends")
			}
		}
	}
	sort.Strings(installed)
	require.Equal(t, []string{"postgresql-15", "postgresql-client-15"}, installed, "Postgres server binaries and pg_dump, nothing else")

	require.Equal(t, []string{"999:999"}, steps(runtime, "USER"), "Argo CD runs plugin sidecars as uid 999")
	require.Contains(t, steps(runtime, "ENV"), "SCHEMAHOOK_PG_BIN=/usr/lib/postgresql/15/bin")
	require.Equal(t, []string{"--from=" + build.name + " /src/bin/schemahook /usr/local/bin/schemahook"}, steps(runtime, "COPY"))
}

// The build stage, run step by step on a copy of the build context as Docker would, produces
// a binary built by `make build` that carries the VERSION build argument.
func TestBuildStageBuildsThroughTheMakefile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	build := stages[0]
	runs := strings.Join(steps(build, "RUN"), "\n")
	require.Contains(t, runs, "make build", "the Makefile holds the build flags")
	require.NotContains(t, runs, "go build", "build flags live in the Makefile only")

	ctxDir := t.TempDir()
	copyContext(t, repoRoot, ctxDir)
	var workdir string
	args := map[string]string{"VERSION": "v9.8.7-imagetest", "REPOSITORY": "registry.example/schemahook"}
	for _, in := range build.steps {
		switch in.cmd {
		case "WORKDIR":
			require.Equal(t, "/src", in.args, "the COPY --from path below assumes /src")
			workdir = ctxDir
		case "COPY":
			// The context copy already holds every file the COPY lines bring in.
			require.NotEmpty(t, workdir)
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			if _, ok := args[name]; !ok {
				args[name] = def
			}
		case "RUN":
			cmd := exec.Command("sh", "-ec", in.args)
			cmd.Dir = workdir
			cmd.Env = os.Environ()
			for k, v := range args {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "RUN %s:\n%s", in.args, out)
		default:
			t.Fatalf("build stage: %s is not simulated", in.cmd)
		}
	}

	bin := filepath.Join(ctxDir, "bin", "schemahook")
	out, err := exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "image registry.example/schemahook:v9.8.7-imagetest", "the hook Job runs the image the binary was built for")

	// The runtime image is bookworm-slim: every library the cgo binary links must come with
	// its libc6 (pg_query_go's parser is linked in statically).
	ldd, err := exec.Command("ldd", bin).CombinedOutput()
	require.NoError(t, err, "%s", ldd)
	for _, line := range strings.Split(strings.TrimSpace(string(ldd)), "\n") {
		lib := strings.Fields(line)[0]
		require.Regexp(t, `^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|lib(c|m|pthread|dl|resolv)\.so\.\d)$`, lib, "linked library not in libc6")
	}
}

// copyContext copies the build context, leaving out what .dockerignore excludes.
func copyContext(t *testing.T, src, dst string) {
	t.Helper()
	ignore, err := os.ReadFile(filepath.Join(src, ".dockerignore"))
	require.NoError(t, err)
	var patterns []string
	for _, l := range strings.Split(string(ignore), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	ignored := func(rel string) bool {
		for _, p := range patterns {
			if base, ok := strings.CutPrefix(p, "**/"); ok {
				if m, _ := filepath.Match(base, filepath.Base(rel)); m {
					return true
				}
			} else if m, _ := filepath.Match(p, rel); m {
				return true
			}
		}
		return false
	}
	err = filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		if ignored(rel) {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		default:
			return nil // sockets, symlinks: not part of a build
		}
	})
	require.NoError(t, err, fmt.Sprintf("copy build context %s", src))
}
