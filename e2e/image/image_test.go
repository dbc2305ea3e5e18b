package image

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The binary in the image carries the version and repository the build was given, so the
// Jobs it renders run the image it runs in.
func TestVersionIsBakedIn(t *testing.T) {
	out, err := runImage(t, append(restricted(), image, "version")...)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("schemahook %s (image %s:%s)", version, repository, version), strings.TrimSpace(out))
}

// The image runs as Argo CD's plugin uid, with schemahook as its entrypoint and no pinned
// Postgres: the runtime picks the dev server of the target's major.
func TestImageConfig(t *testing.T) {
	out, err := runImage(t, "image", "inspect", "--format", "{{json .Config}}", image)
	require.NoError(t, err)
	var cfg struct {
		User       string
		Entrypoint []string
		Env        []string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &cfg))
	require.Equal(t, "999:999", cfg.User, "Argo CD runs plugin sidecars as uid 999")
	require.Equal(t, []string{"/usr/local/bin/schemahook"}, cfg.Entrypoint)
	for _, e := range cfg.Env {
		require.False(t, strings.HasPrefix(e, "SCHEMAHOOK_PG_BIN="), "the image pins no Postgres major: %s", e)
	}
}

// versionsLines are the fields of scripts/postgres/versions' lines.
func versionsLines(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "scripts", "postgres", "versions"))
	require.NoError(t, err)
	defer f.Close()
	var lines [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 && !strings.HasPrefix(fields[0], "#") {
			lines = append(lines, fields)
		}
	}
	require.NoError(t, sc.Err())
	return lines
}

// clientVersion is the version of the client tools (pg_dump, psql) the image builds.
func clientVersion(t *testing.T) string {
	for _, fields := range versionsLines(t) {
		if fields[0] == "client" {
			return fields[1]
		}
	}
	t.Fatal("scripts/postgres/versions names no client")
	return ""
}

// claimedMajors are the server majors scripts/postgres/versions publishes for this
// architecture: the image must carry each.
func claimedMajors(t *testing.T) []int {
	t.Helper()
	col := map[string]int{"amd64": 3, "arm64": 4}[runtime.GOARCH]
	require.NotZero(t, col, "architecture %s", runtime.GOARCH)
	var majors []int
	for _, fields := range versionsLines(t) {
		if len(fields) > col && fields[0] == "server" && fields[col] != "-" {
			m, err := strconv.Atoi(fields[1])
			require.NoError(t, err)
			majors = append(majors, m)
		}
	}
	require.NotEmpty(t, majors)
	return majors
}

// Every server major and the client tools run in the image as the hook's user under a
// read-only root: their shared libraries (bundled ones deduplicated across majors, libssl
// and zlib from Debian) all resolve.
func TestPostgresBuildsRunInTheImage(t *testing.T) {
	majors := claimedMajors(t)
	out, err := runImage(t, append(restricted(), "--entrypoint", "ls", image, "/usr/lib/postgresql")...)
	require.NoError(t, err)
	var have []int
	for _, d := range strings.Fields(out) {
		m, err := strconv.Atoi(d)
		require.NoError(t, err, "unexpected entry /usr/lib/postgresql/%s", d)
		have = append(have, m)
	}
	sort.Ints(have)
	require.Equal(t, majors, have, "the image carries the server of every major it claims")

	// One shell run for all binaries: each prints its version.
	var script strings.Builder
	for _, m := range majors {
		for _, b := range []string{"postgres", "initdb", "pg_ctl", "pg_dump", "psql"} {
			fmt.Fprintf(&script, "/usr/lib/postgresql/%d/bin/%s --version\n", m, b)
		}
	}
	script.WriteString("pg_dump --version\npsql --version\n")
	out, err = runImage(t, append(restricted(), "--entrypoint", "sh", image, "-ec", script.String())...)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, len(majors)*5+2)
	for i, m := range majors {
		for j, b := range []string{"postgres", "initdb", "pg_ctl"} {
			require.True(t, strings.HasPrefix(lines[i*5+j], fmt.Sprintf("%s (PostgreSQL) %d.", b, m)), lines[i*5+j])
		}
	}
	client := clientVersion(t)
	require.Equal(t, "pg_dump (PostgreSQL) "+client, lines[len(lines)-2])
	require.Equal(t, "psql (PostgreSQL) "+client, lines[len(lines)-1])
}
