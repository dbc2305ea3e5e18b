package schema

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/schemahook/schemahook/engine"
)

// HistoryTables are the history tables of the tools schemahook adopts (engine.Adopt): they
// stay on a target after adoption but are no part of the schema the migrations build.
var HistoryTables = []string{"schema_migrations", "goose_db_version", "goose_db_version_id_seq", "flyway_schema_history", "atlas_schema_revisions"}

// Dump runs pg_dump --schema-only (from clientDir) on dbURL without owners, privileges,
// tablespaces, publications, subscriptions and security labels, which are the cluster's
// business rather than the schema's, and without the schemas in exclude (schemahook's
// revisions schema) and the HistoryTables. The password goes through PGPASSWORD, never
// the command line, and never appears in the error.
func Dump(ctx context.Context, clientDir, dbURL string, exclude ...string) (string, error) {
	u, pw := engine.StripPassword(dbURL)
	args := []string{"--schema-only", "--no-owner", "--no-privileges", "--no-publications", "--no-subscriptions",
		"--no-tablespaces", "--no-security-labels"}
	for _, s := range exclude {
		args = append(args, "--exclude-schema="+s)
	}
	for _, t := range HistoryTables {
		args = append(args, "--exclude-table=*."+t)
	}
	args = append(args, "-d", u)
	cmd := exec.CommandContext(ctx, filepath.Join(clientDir, "pg_dump"), args...)
	cmd.Env = append(append(os.Environ(), engine.LibpqEnv(dbURL)...), "PGPASSWORD="+pw, "PGAPPNAME=schemahook schema")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("pg_dump --schema-only of %s failed (%v): %s", engine.Redact(dbURL), err,
			engine.RedactText(strings.TrimSpace(stderr.String()), dbURL))
	}
	return string(out), nil
}

// DumpParsed is Dump then Parse.
func DumpParsed(ctx context.Context, clientDir, dbURL string, exclude ...string) (*Schema, error) {
	d, err := Dump(ctx, clientDir, dbURL, exclude...)
	if err != nil {
		return nil, err
	}
	return Parse(d)
}
