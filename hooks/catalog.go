package hooks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
)

// The catalog queries of the lint snapshot: one per kind, each limited to the names the
// pending files mention, so they read a few catalog rows whatever the database's size.
const (
	searchPathQuery = `SELECT current_schemas(false)`
	tablesQuery     = `SELECT n.nspname, c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p')`
	columnsQuery = `SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`
	// The most volatile overload of each name: 'v' > 's' > 'i'.
	functionsQuery = `SELECT n.nspname, p.proname, max(p.provolatile::text) FROM pg_proc p
		JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = ANY($1) GROUP BY 1, 2`
	// Sizes of the tables by oid; a partitioned table's are its leaf partitions' sums, and
	// its row estimate is unknown (-1) while any leaf was never analyzed. Each table's rows
	// are found by oid (an index scan), not by joining pg_class.
	sizesQuery = `SELECT t.oid, s.rows, s.bytes FROM unnest($1::oid[]) AS t(oid), LATERAL (
		SELECT coalesce(CASE WHEN bool_or(l.reltuples < 0) THEN -1 ELSE sum(l.reltuples) END, 0)::bigint AS rows,
			coalesce(sum(pg_total_relation_size(l.oid)), 0)::bigint AS bytes
		FROM pg_class l WHERE l.relkind = 'r'
		AND l.oid = ANY (array(SELECT t.oid UNION ALL SELECT relid FROM pg_partition_tree(t.oid) WHERE isleaf))) s`
)

// sizeLockTimeout bounds the wait of pg_total_relation_size, which takes an ACCESS SHARE
// lock: behind another session's ACCESS EXCLUSIVE lock the lint goes on without sizes.
const sizeLockTimeout = "1s"

// devCatalog reads, on the dev copy after the pending files were replayed on it, the
// volatility of the functions they call, the functions they create included.
func (r *run) devCatalog(ctx context.Context, url string, plan *engine.Plan) error {
	_, funcs := lint.Mentions(plan.Pending)
	conn, err := engine.Connect(ctx, url, engine.ConnectOptions{Timeout: 30 * time.Second, AppName: "schemahook dev"})
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-catalog", Msg: err.Error()}
	}
	defer conn.Close(context.Background())
	if r.devFuncs, err = readFunctions(ctx, conn, funcs); err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-catalog", Msg: "reading function volatility on the dev copy: " + err.Error()}
	}
	return nil
}

// lintCatalog reads from the target, in read-only transactions, what the lint takes from
// it: the search path, the mentioned tables with their column types and sizes, and (without
// a dev replay) the functions' volatility. A size that cannot be read in time is left out.
func (r *run) lintCatalog(ctx context.Context, pending []*migrations.File) (*lint.Catalog, error) {
	start := time.Now()
	rels, funcs := lint.Mentions(pending)
	cat := &lint.Catalog{Tables: map[string]lint.TableStats{}, Columns: map[string]string{}, Functions: r.devFuncs}
	oids := map[uint32]string{}
	err := readOnly(ctx, r.target, "", func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, searchPathQuery).Scan(&cat.SearchPath); err != nil {
			return fmt.Errorf("search_path: %w", err)
		}
		if err := eachRow(ctx, tx, tablesQuery, rels, func(row pgx.CollectableRow) error {
			var sch, rel string
			var oid uint32
			if err := row.Scan(&sch, &rel, &oid); err != nil {
				return err
			}
			key := strings.ToLower(sch + "." + rel)
			cat.Tables[key] = lint.TableStats{Rows: -1, Bytes: -1}
			oids[oid] = key
			return nil
		}); err != nil {
			return fmt.Errorf("tables: %w", err)
		}
		if err := eachRow(ctx, tx, columnsQuery, rels, func(row pgx.CollectableRow) error {
			var sch, rel, col, typ string
			if err := row.Scan(&sch, &rel, &col, &typ); err != nil {
				return err
			}
			cat.Columns[strings.ToLower(sch+"."+rel+"."+col)] = typ
			return nil
		}); err != nil {
			return fmt.Errorf("columns: %w", err)
		}
		if cat.Functions == nil {
			var err error
			cat.Functions, err = readFunctions(ctx, tx, funcs)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, &failure.Error{Stage: failure.StageLint, Exit: failure.ExitLint, Rule: "lint-catalog", Msg: "reading the target's catalog for the lint: " + err.Error()}
	}
	if err := r.readSizes(ctx, cat, oids); err != nil {
		r.logf("lint: table sizes left out, the target did not give them within lock_timeout %s (%v): findings name no size, and none is downgraded as small", sizeLockTimeout, err)
	}
	from := "the dev copy after the pending files"
	switch {
	case r.devFuncs != nil:
	case r.targetEmpty:
		from = "the target (empty: every table is new, so no column default is judged)"
	default:
		from = "the target (no dev replay: functions the pending files create are not known, and a default calling one is a warning)"
	}
	r.logf("lint catalog read in %s: search_path %s, %d table(s), %d column(s), function volatility of %d name(s) from %s",
		time.Since(start).Round(time.Millisecond), strings.Join(cat.SearchPath, ", "), len(cat.Tables), len(cat.Columns), len(cat.Functions), from)
	return cat, nil
}

// readSizes fills in the tables' row estimates and total sizes.
func (r *run) readSizes(ctx context.Context, cat *lint.Catalog, oids map[uint32]string) error {
	if len(oids) == 0 {
		return nil
	}
	list := make([]uint32, 0, len(oids))
	for oid := range oids {
		list = append(list, oid)
	}
	return readOnly(ctx, r.target, sizeLockTimeout, func(tx pgx.Tx) error {
		return eachRow(ctx, tx, sizesQuery, list, func(row pgx.CollectableRow) error {
			var oid uint32
			var st lint.TableStats
			if err := row.Scan(&oid, &st.Rows, &st.Bytes); err != nil {
				return err
			}
			cat.Tables[oids[oid]] = st
			return nil
		})
	})
}

// querier is a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readFunctions reads the volatility of the functions of these names, by "schema.name".
func readFunctions(ctx context.Context, q querier, names []string) (map[string]lint.Volatility, error) {
	out := map[string]lint.Volatility{}
	err := eachRow(ctx, q, functionsQuery, names, func(row pgx.CollectableRow) error {
		var sch, name, vol string
		if err := row.Scan(&sch, &name, &vol); err != nil {
			return err
		}
		out[strings.ToLower(sch+"."+name)] = lint.Volatility(vol)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("functions: %w", err)
	}
	return out, nil
}

// eachRow runs a query with one array argument and calls fn for each row.
func eachRow(ctx context.Context, q querier, sql string, arg any, fn func(pgx.CollectableRow) error) error {
	rows, err := q.Query(ctx, sql, arg)
	if err != nil {
		return err
	}
	_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) { return struct{}{}, fn(row) })
	return err
}

// readOnly runs fn in a READ ONLY transaction that is rolled back, so the snapshot cannot
// write to the target whatever it runs; lockTimeout, when set, bounds each lock wait.
func readOnly(ctx context.Context, conn *pgx.Conn, lockTimeout string, fn func(pgx.Tx) error) error {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if lockTimeout != "" {
		if _, err := tx.Exec(ctx, "SELECT set_config('lock_timeout', $1, true)", lockTimeout); err != nil {
			return err
		}
	}
	return fn(tx)
}
