package migrations

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// A migration file's own transaction control (BEGIN ... COMMIT, common in golang-migrate
// files) fights the transaction schemahook opens and records each file in. This is its one
// home: lint reports every kind from the parse tree (TxControl), and the runner leaves out
// the plain forms inside its own transaction (PlainTxControl), by text, since it runs on
// every statement applied. Every statement PlainTxControl accepts is one TxControl names.

// txControlKinds names the transaction statements a migration must not hold; SAVEPOINT and
// its kin work inside the runner's transaction and are left out.
var txControlKinds = map[pg_query.TransactionStmtKind]string{
	pg_query.TransactionStmtKind_TRANS_STMT_BEGIN:             "BEGIN",
	pg_query.TransactionStmtKind_TRANS_STMT_START:             "START TRANSACTION",
	pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:            "COMMIT",
	pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:          "ROLLBACK",
	pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:           "PREPARE TRANSACTION",
	pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:   "COMMIT PREPARED",
	pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
}

// TxControl names the transaction-control statement n ("BEGIN", "COMMIT PREPARED", ...),
// or gives "" when n is none a migration must not hold.
func TxControl(n *pg_query.Node) string {
	t := n.GetTransactionStmt()
	if t == nil {
		return ""
	}
	return txControlKinds[t.Kind]
}

// PlainTxControl reports a plain BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK or ABORT
// (WORK or TRANSACTION allowed, no options). Inside the transaction schemahook opens for a
// file it would end that transaction early and break atomicity, so the runner skips it
// there; a non-transactional file runs it as written.
func PlainTxControl(sql string) bool {
	w := strings.Fields(strings.ToUpper(strings.TrimRight(sql, "; \t\r\n")))
	if len(w) == 0 || len(w) > 3 {
		return false
	}
	switch w[0] {
	case "BEGIN", "COMMIT", "END", "ABORT":
		return len(w) == 1 || (len(w) == 2 && (w[1] == "WORK" || w[1] == "TRANSACTION"))
	case "START":
		return len(w) == 2 && w[1] == "TRANSACTION"
	case "ROLLBACK":
		return len(w) == 1 || (len(w) == 2 && (w[1] == "WORK" || w[1] == "TRANSACTION"))
	}
	return false
}
