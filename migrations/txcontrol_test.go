package migrations

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/stretchr/testify/require"
)

// TestTxControlAgree: the runner's text check never skips a statement lint does not name,
// and lint names the forms the runner leaves to Postgres (options, PREPARED) too.
func TestTxControlAgree(t *testing.T) {
	tests := []struct {
		sql   string
		plain bool
		name  string
	}{
		{"BEGIN", true, "BEGIN"},
		{"begin transaction", true, "BEGIN"},
		{"START TRANSACTION", true, "START TRANSACTION"},
		{"COMMIT WORK", true, "COMMIT"},
		{"END", true, "COMMIT"},
		{"ABORT", true, "ROLLBACK"},
		{"ROLLBACK", true, "ROLLBACK"},
		{"BEGIN ISOLATION LEVEL SERIALIZABLE", false, "BEGIN"},
		{"COMMIT PREPARED 'x'", false, "COMMIT PREPARED"},
		{"PREPARE TRANSACTION 'x'", false, "PREPARE TRANSACTION"},
		{"ROLLBACK TO SAVEPOINT a", false, ""},
		{"SAVEPOINT a", false, ""},
		{"CREATE TABLE begin (id int)", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			require.Equal(t, tt.plain, PlainTxControl(tt.sql))
			tree, err := pg_query.Parse(tt.sql)
			require.NoError(t, err)
			require.Len(t, tree.Stmts, 1)
			require.Equal(t, tt.name, TxControl(tree.Stmts[0].Stmt))
		})
	}
}
