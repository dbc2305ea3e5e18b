package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
)

// Revision statuses.
const (
	StatusApplied  = "applied"
	StatusPartial  = "partial"  // a non-transactional file stopped part-way: blocks runs
	StatusBaseline = "baseline" // marked applied by --baseline, never run by schemahook
	StatusAdopted  = "adopted"  // taken over from another tool's history table
)

// Revision is one row of <schema>.revisions.
type Revision struct {
	Version           string // file version; "R__<description>" for a repeatable
	Description       string
	Checksum          string
	AppliedAt         time.Time
	ExecutionMs       int64
	App               string
	GitRevision       string
	Status            string
	StatementsTotal   int
	StatementsApplied int
	LastError         string
}

// Key is the revisions-table version of a file: its version, or "R__<description>" for a
// Flyway repeatable (which has none).
func Key(f *migrations.File) string {
	if f.Repeatable {
		return "R__" + f.Description
	}
	return f.Version
}

func table(schema string) string {
	return pgx.Identifier{schema, "revisions"}.Sanitize()
}

// EnsureTable creates the revisions schema and table when missing.
func EnsureTable(ctx context.Context, conn *pgx.Conn, schema string) error {
	_, err := conn.Exec(ctx, fmt.Sprintf(`
CREATE SCHEMA IF NOT EXISTS %s;
CREATE TABLE IF NOT EXISTS %s (
  version            text PRIMARY KEY,
  description        text NOT NULL DEFAULT '',
  checksum           text NOT NULL DEFAULT '',
  applied_at         timestamptz NOT NULL DEFAULT now(),
  execution_ms       bigint NOT NULL DEFAULT 0,
  app                text NOT NULL DEFAULT '',
  git_revision       text NOT NULL DEFAULT '',
  status             text NOT NULL CHECK (status IN ('applied', 'partial', 'baseline', 'adopted')),
  statements_total   integer NOT NULL DEFAULT 0,
  statements_applied integer NOT NULL DEFAULT 0,
  last_error         text
)`, pgx.Identifier{schema}.Sanitize(), table(schema)))
	if err != nil {
		return &failure.Error{Exit: failure.ExitApply, Rule: "revisions-table", Msg: fmt.Sprintf("creating %s: %v", table(schema), err), Err: err}
	}
	return nil
}

// LoadHistory reads every revision in one query (a constant number of round trips however
// long the history). exists is false when the table is not there yet.
func LoadHistory(ctx context.Context, conn *pgx.Conn, schema string) (revs []Revision, exists bool, err error) {
	var reg *string
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1)::text`, table(schema)).Scan(&reg); err != nil {
		return nil, false, &failure.Error{Exit: failure.ExitConnect, Rule: "revisions-table", Msg: "reading the revisions table: " + err.Error(), Err: err}
	}
	if reg == nil {
		return nil, false, nil
	}
	rows, err := conn.Query(ctx, `SELECT version, description, checksum, applied_at, execution_ms, app, git_revision,
  status, statements_total, statements_applied, coalesce(last_error, '') FROM `+table(schema))
	if err != nil {
		return nil, true, &failure.Error{Exit: failure.ExitHistory, Rule: "revisions-table", Msg: fmt.Sprintf("reading %s: %v", table(schema), err), Err: err}
	}
	revs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Revision, error) {
		var v Revision
		err := r.Scan(&v.Version, &v.Description, &v.Checksum, &v.AppliedAt, &v.ExecutionMs, &v.App, &v.GitRevision,
			&v.Status, &v.StatementsTotal, &v.StatementsApplied, &v.LastError)
		return v, err
	})
	if err != nil {
		return nil, true, &failure.Error{Exit: failure.ExitHistory, Rule: "revisions-table", Msg: fmt.Sprintf("reading %s: %v", table(schema), err), Err: err}
	}
	return revs, true, nil
}

// UpToDate reports whether the history records exactly the files given, each under its Key
// with its checksum, and nothing partially applied: then nothing is pending and no history
// rule can fail, and a run need not read the history row by row. The server digests the
// history in one query, so the cost does not grow with it on the client or the wire. n is
// the number of revisions. false (with a nil error) means "look closer": LoadHistory and
// Verify decide, and name what differs.
func UpToDate(ctx context.Context, conn *pgx.Conn, schema string, files []*migrations.File) (n int, ok bool, err error) {
	var reg *string
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1)::text`, pgx.QueryExecModeSimpleProtocol, table(schema)).Scan(&reg); err != nil {
		return 0, false, &failure.Error{Exit: failure.ExitConnect, Rule: "revisions-table", Msg: "reading the revisions table: " + err.Error(), Err: err}
	}
	if reg == nil {
		return 0, false, nil
	}
	// Each row as <bytes>:<version><bytes>:<checksum>, so no two histories read alike.
	var partial int
	var digest string
	err = conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'partial'),
  coalesce(encode(sha256(convert_to(string_agg(octet_length(version) || ':' || version || octet_length(checksum) || ':' || checksum,
    '' ORDER BY version COLLATE "C"), 'UTF8')), 'hex'), '')
FROM `+table(schema), pgx.QueryExecModeSimpleProtocol).Scan(&n, &partial, &digest)
	if err != nil {
		return 0, false, &failure.Error{Exit: failure.ExitHistory, Rule: "revisions-table", Msg: fmt.Sprintf("reading %s: %v", table(schema), err), Err: err}
	}
	// An empty history is never up to date here: the run may adopt another tool's instead.
	return n, n > 0 && n == len(files) && partial == 0 && digest == historyDigest(files), nil
}

// historyDigest is what UpToDate's query gives for a history that records exactly files.
func historyDigest(files []*migrations.File) string {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b *migrations.File) int { return strings.Compare(Key(a), Key(b)) }) // COLLATE "C"
	h := sha256.New()
	var row []byte
	for _, f := range sorted {
		k := Key(f)
		row = append(strconv.AppendInt(row[:0], int64(len(k)), 10), ':')
		row = append(strconv.AppendInt(append(row, k...), int64(len(f.Checksum)), 10), ':')
		h.Write(append(row, f.Checksum...))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// insertRevision writes (or overwrites) one revision row.
func insertRevision(ctx context.Context, q querier, schema string, r Revision) error {
	_, err := q.Exec(ctx, upsertRevisionSQL(schema, "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10"),
		r.Version, r.Description, r.Checksum, r.ExecutionMs, r.App, r.GitRevision, r.Status,
		r.StatementsTotal, r.StatementsApplied, r.LastError)
	return err
}

// upsertRevisionSQL writes a revision row: v holds, in order, the SQL of version,
// description, checksum, execution_ms, app, git_revision, status, statements_total,
// statements_applied and last_error (empty for none): parameters, or literals in a batch.
func upsertRevisionSQL(schema string, v ...string) string {
	return `INSERT INTO ` + table(schema) + ` AS r (version, description, checksum, execution_ms, app,
  git_revision, status, statements_total, statements_applied, last_error)
VALUES (` + strings.Join(v[:9], ", ") + `, nullif(` + v[9] + `, ''))
ON CONFLICT (version) DO UPDATE SET description = EXCLUDED.description, checksum = EXCLUDED.checksum,
  applied_at = now(), execution_ms = EXCLUDED.execution_ms, app = EXCLUDED.app, git_revision = EXCLUDED.git_revision,
  status = EXCLUDED.status, statements_total = EXCLUDED.statements_total,
  statements_applied = EXCLUDED.statements_applied, last_error = EXCLUDED.last_error`
}

// querier is what a connection and a transaction share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}
