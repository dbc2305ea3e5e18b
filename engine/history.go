package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

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

// Recorded is what the history records, as far as the nothing-to-do check needs it: each
// revision's version and checksum, and how many revisions are partial. When it Matches the
// files, nothing is pending and no history rule can fail, so a run need not look closer;
// otherwise LoadHistory and Verify decide, and name what differs. It needs no file, so a
// run can read it while it is still reading the directory.
type Recorded struct {
	Partial int
	rows    []keySum // sorted by version, byte order
}

type keySum struct{ version, checksum string }

// Revisions is how many revisions the history holds.
func (r Recorded) Revisions() int { return len(r.rows) }

// ReadRecorded reads the versions and checksums of the history in schema, in one query
// without sorting or functions: a nothing-to-do run's session is new, and there the
// server's own digest of the rows (string_agg, sha256) cost twice the time of sending
// them. A missing revisions table (or schema) gives the zero Recorded.
func ReadRecorded(ctx context.Context, conn *pgx.Conn, schema string) (Recorded, error) {
	var r Recorded
	// The values are copied into 64 KiB chunks and the rows gathered in blocks, so nothing
	// is copied again as the history grows: at ten thousand rows, a string per value and
	// appending to one slice allocated five times the bytes received (a large slice grows
	// by a quarter at a time), and fresh memory is most of what this read costs.
	var chunk []byte
	keep := func(b []byte) string {
		if len(b) == 0 {
			return ""
		}
		if len(b) > cap(chunk)-len(chunk) {
			chunk = make([]byte, 0, max(64<<10, len(b)))
		}
		chunk = append(chunk, b...) // within capacity: what was kept before stays put
		return unsafe.String(&chunk[len(chunk)-len(b)], len(b))
	}
	const blockRows = 1024
	var blocks [][]keySum
	n := 0
	rows, err := conn.Query(ctx, `SELECT version, checksum, status = 'partial' FROM `+table(schema), pgx.QueryExecModeSimpleProtocol)
	if err == nil {
		for rows.Next() {
			vals := rows.RawValues()
			if len(vals) != 3 || vals[0] == nil || vals[1] == nil || vals[2] == nil {
				err = fmt.Errorf("unexpected row %q", vals)
				break
			}
			if n%blockRows == 0 {
				blocks = append(blocks, make([]keySum, 0, blockRows))
			}
			b := &blocks[len(blocks)-1]
			*b = append(*b, keySum{keep(vals[0]), keep(vals[1])})
			n++
			if string(vals[2]) == "t" {
				r.Partial++
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") { // undefined_table, invalid_schema_name
		return Recorded{}, nil
	}
	if err != nil {
		return Recorded{}, &failure.Error{Exit: failure.ExitHistory, Rule: "revisions-table", Msg: fmt.Sprintf("reading %s: %v", table(schema), err), Err: err}
	}
	r.rows = slices.Concat(blocks...)
	if !slices.IsSortedFunc(r.rows, byVersion) { // rows come in the order they were applied: usually sorted
		slices.SortFunc(r.rows, byVersion)
	}
	return r, nil
}

// Matches reports whether the history records exactly files, each under its Key with its
// checksum, and nothing partial. An empty history never matches: the run may adopt another
// tool's instead.
func (r Recorded) Matches(files []*migrations.File) bool {
	if len(r.rows) == 0 || len(r.rows) != len(files) || r.Partial != 0 {
		return false
	}
	// Files in version order usually have their keys in text order too (versions of one
	// length): then they compare with the rows one by one, with nothing built.
	inOrder, same := true, true
	for i, f := range files {
		k := Key(f)
		if i > 0 && k <= Key(files[i-1]) {
			inOrder = false
			break
		}
		same = same && r.rows[i] == (keySum{k, f.Checksum})
	}
	if inOrder {
		return same
	}
	keys := make([]keySum, len(files))
	for i, f := range files {
		keys[i] = keySum{Key(f), f.Checksum}
	}
	slices.SortFunc(keys, byVersion)
	return slices.Equal(keys, r.rows)
}

func byVersion(a, b keySum) int { return strings.Compare(a.version, b.version) }

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
