package lint

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/require"
)

// TestExamplesRunOnPostgres runs every rule's Bad and Good example on a real Postgres after
// exampleSchema: the docs must show SQL that Postgres accepts, not just SQL that parses.
// Examples run in a transaction that is rolled back; those that cannot (CONCURRENTLY,
// VACUUM, their own BEGIN) get a database of their own.
func TestExamplesRunOnPostgres(t *testing.T) {
	skip := map[string]bool{
		codeParseError + " bad":   true, // not SQL by design
		codeDropDatabase + " bad": true, // would need a database named legacy
		codeDupAssign + " bad":    true, // Postgres refuses it by design
		codeEnumSameTx + " bad":   true, // Postgres refuses it by design
	}
	ctx := context.Background()
	shared, err := pgx.Connect(ctx, pgtest.URL(t))
	require.NoError(t, err)
	defer shared.Close(ctx)
	for _, r := range Rules() {
		for _, ex := range []struct{ kind, sql string }{{"bad", r.Bad}, {"good", r.Good}} {
			if skip[r.Code+" "+ex.kind] {
				continue
			}
			t.Run(r.Code+"_"+ex.kind, func(t *testing.T) {
				schema, err := migrations.Split(exampleSchema)
				require.NoError(t, err)
				stmts, err := migrations.Split(ex.sql)
				require.NoError(t, err)
				inTx := r.Code != codeTxControl
				for _, st := range stmts {
					inTx = inTx && !st.NoTx
				}
				conn := shared
				if inTx {
					_, err := conn.Exec(ctx, "BEGIN")
					require.NoError(t, err)
					defer conn.Exec(ctx, "ROLLBACK")
				} else {
					conn, err = pgx.Connect(ctx, pgtest.URL(t))
					require.NoError(t, err)
					defer conn.Close(ctx)
				}
				for _, st := range append(schema, stmts...) {
					_, err := conn.Exec(ctx, st.SQL)
					require.NoError(t, err, "%s", st.SQL)
				}
			})
		}
	}
}
