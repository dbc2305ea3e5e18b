package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/internal/testfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gitT(t *testing.T, dir string, args ...string) { testfs.Git(t, dir, args...) }

func runCheck(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newCheckCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		errb.WriteString(err.Error())
		code = 1
		var ec exitCoder
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
	}
	return out.String(), errb.String(), code
}

// checkRepo makes a repository: main holds app db/orders with two migrations and its sum;
// branch pr adds an index on the existing table (SH301 on line 2) and edits the first file
// at line 2, rehashed, and the working directory is the repository root.
func checkRepo(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	gitT(t, dir, "init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{
		"db/orders/schemahook.yaml":                      "apiVersion: schemahook.dev/v1alpha1\nkind: Database\nmetadata: {name: orders}\nspec:\n  url: {secretKeyRef: {name: orders-pg, key: url}}\n",
		"db/orders/migrations/20240101000000_create.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\n",
		"db/orders/migrations/20240102000000_drop.sql":   "DROP TABLE legacy;\n",
	})
	t.Chdir(dir)
	_, code := runHash(t, "db/orders/migrations")
	require.Equal(t, 0, code)
	gitT(t, dir, "add", "-A")
	gitT(t, dir, "commit", "-q", "-m", "base")
	gitT(t, dir, "checkout", "-q", "-b", "pr")
}

func runHash(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newHashCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		return err.Error(), 1
	}
	return out.String(), 0
}

var annotation = regexp.MustCompile(`^::(error|warning) file=([^,]*),line=(\d+),col=(\d+),title=([^:]*)::(.*)$`)

func TestCheckCommand(t *testing.T) {
	checkRepo(t)
	writeFiles(t, ".", map[string]string{
		"db/orders/migrations/20240103000000_index.sql": "-- lookups\nCREATE INDEX orders_customer_idx ON orders (customer_id);\n",
	})
	_, code := runHash(t, "db/orders/migrations")
	require.Equal(t, 0, code)

	// The new file: exit 3, one finding on it, none on the base files.
	out, _, code := runCheck(t, "db/orders", "--git-base", "main")
	assert.Equal(t, 3, code, out)
	assert.Contains(t, out, "db/orders/migrations/20240103000000_index.sql:2:1: SH301 ")
	assert.NotContains(t, out, "20240102000000_drop.sql")

	// Without a base every file is linted, the base's DROP TABLE too.
	out, _, code = runCheck(t, "db/orders")
	assert.Equal(t, 3, code, out)
	assert.Contains(t, out, "db/orders/migrations/20240102000000_drop.sql:1:1: SH101 ")

	// Annotations, read back.
	out, _, code = runCheck(t, "db/orders", "--git-base", "main", "--output", "github")
	assert.Equal(t, 3, code)
	var got [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if m := annotation.FindStringSubmatch(l); m != nil {
			got = append(got, m[1:6])
		}
	}
	assert.Equal(t, [][]string{{"error", "db/orders/migrations/20240103000000_index.sql", "2", "1", "schemahook SH301 create-index-non-concurrently"}}, got, out)

	// An edit of a base file: exit 4 naming it, in SARIF read back.
	writeFiles(t, ".", map[string]string{
		"db/orders/migrations/20240101000000_create.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\nALTER TABLE orders ADD COLUMN note text;\n",
	})
	_, code = runHash(t, "db/orders/migrations")
	require.Equal(t, 0, code)
	summary := filepath.Join(t.TempDir(), "summary.md")
	require.NoError(t, os.WriteFile(summary, []byte("# earlier step\n"), 0o644))
	out, _, code = runCheck(t, "db/orders", "--git-base", "main", "--output", "sarif", "--summary", summary)
	assert.Equal(t, 4, code)
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &log))
	type loc struct {
		rule, uri string
		line, col int
	}
	var locs []loc
	for _, r := range log.Runs[0].Results {
		assert.Equal(t, r.RuleID, log.Runs[0].Tool.Driver.Rules[r.RuleIndex].ID)
		p := r.Locations[0].PhysicalLocation
		locs = append(locs, loc{r.RuleID, p.ArtifactLocation.URI, p.Region.StartLine, p.Region.StartColumn})
	}
	assert.ElementsMatch(t, []loc{
		{"checksum-mismatch", "db/orders/migrations/20240101000000_create.sql", 2, 1},
		{"SH301", "db/orders/migrations/20240103000000_index.sql", 2, 1},
	}, locs)
	md, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(md), "# earlier step\n## schemahook check: blocked (exit 4"), "summary not appended: %s", md)

	// A bad ref is a usage error naming it.
	_, stderr, code := runCheck(t, "db/orders", "--git-base", "origin/nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--git-base origin/nope")

	_, _, code = runCheck(t, "db/orders", "--output", "xml")
	assert.Equal(t, 1, code)
}

// A removed base file, found by --changed from the repository root.
func TestCheckCommandChanged(t *testing.T) {
	checkRepo(t)
	require.NoError(t, os.Remove("db/orders/migrations/20240102000000_drop.sql"))
	_, code := runHash(t, "db/orders/migrations")
	require.Equal(t, 0, code)
	gitT(t, ".", "commit", "-q", "-am", "remove")
	out, _, code := runCheck(t, "--changed", "--git-base", "main", "--output", "json")
	assert.Equal(t, 4, code)
	var rep struct {
		Apps     []struct{ Dir string }
		Findings []struct{ File, Rule string }
		ExitCode int
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Apps, 1)
	assert.Equal(t, "db/orders", rep.Apps[0].Dir)
	require.Len(t, rep.Findings, 1)
	assert.Equal(t, "db/orders/migrations/20240102000000_drop.sql", rep.Findings[0].File)
	assert.Equal(t, "applied-file-missing", rep.Findings[0].Rule)
	assert.Equal(t, 4, rep.ExitCode)
}

// TestCheckSchemaSQL: check wires schema.sql's offline freshness check (the checksum in its
// header against the directory's), so a stale file is one finding naming schema.sql and
// the refresh command, and a file built from the current directory passes.
func TestCheckSchemaSQL(t *testing.T) {
	checkRepo(t)
	sum, err := os.ReadFile("db/orders/migrations/schemahook.sum")
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(sum), "\n")
	header := func(s string) string {
		return "-- schema.sql\n-- schemahook: built from migrations " + s + "\n\nCREATE TABLE public.orders (id bigint);\n"
	}

	require.NoError(t, os.WriteFile("db/orders/schema.sql", []byte(header(first)), 0o644))
	out, _, code := runCheck(t, "db/orders", "--git-base", "main", "--output", "json")
	require.Equal(t, 0, code, out)
	var rep struct {
		Apps     []struct{ Schema string }
		Findings []struct{ File, Rule, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, "fresh", rep.Apps[0].Schema)

	require.NoError(t, os.WriteFile("db/orders/schema.sql", []byte(header("h1:c3RhbGU=")), 0o644))
	out, _, code = runCheck(t, "db/orders", "--git-base", "main", "--output", "json")
	assert.NotEqual(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, "stale", rep.Apps[0].Schema)
	require.Len(t, rep.Findings, 1, "one finding for one stale file: %s", out)
	assert.Equal(t, "db/orders/schema.sql", rep.Findings[0].File)
	assert.Equal(t, "stale-schema", rep.Findings[0].Rule)
	assert.Contains(t, rep.Findings[0].Message, "schemahook schema db/orders")
}
