package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/schemahook/schemahook/migrations"
)

// batch is transactional files sent as one simple-protocol query: for each, BEGIN, its
// statements, its revision row and COMMIT, in one round trip instead of one each. Postgres
// runs the statements of a query string one after another and stops at the first error,
// and the explicit BEGIN keeps each file one transaction, exactly as when its statements
// are sent one by one; lock_timeout applies to each lock wait and, since Postgres 13,
// statement_timeout to each statement of a query string. What a failure names is recovered from the answer: the commands
// completed before the error, or the error's position in the query string.
type batch struct {
	sql   string
	parts []batchPart // in the order of sql
}

// batchPart is one piece of a batch's query string.
type batchPart struct {
	file    int                   // index of its file in the batch's
	st      *migrations.Statement // nil for BEGIN, the revision row and COMMIT
	what    string                // what a part without st is: "BEGIN", "revision" or "COMMIT"
	results int                   // command completions Postgres sends for it
	char    int                   // 0-based offset in characters in sql (error positions count characters)
	chars   int                   // length in characters
}

// newBatch builds the batch of files. A file's own plain BEGIN/COMMIT are left out (see
// migrations.PlainTxControl): they would end its transaction early. revision gives the SQL
// of a file's revision row, written in its transaction ("" for none).
func newBatch(files []*migrations.File, revision func(*migrations.File) string) *batch {
	b := &batch{}
	var sb strings.Builder
	chars, file := 0, 0
	add := func(st *migrations.Statement, what, sql string, results int) {
		b.parts = append(b.parts, batchPart{file: file, st: st, what: what, results: results, char: chars, chars: utf8.RuneCountInString(sql)})
		sb.WriteString(sql)
		chars += b.parts[len(b.parts)-1].chars
		// On a line of its own: a statement may end in a -- comment.
		sb.WriteString("\n;\n")
		chars += 3
	}
	for i, f := range files {
		file = i
		add(nil, "BEGIN", "BEGIN", 1)
		for j := range f.Statements {
			st := &f.Statements[j]
			if migrations.PlainTxControl(st.SQL) {
				continue
			}
			add(st, "", st.SQL, max(st.Parts, 1))
		}
		if sql := revision(f); sql != "" {
			add(nil, "revision", sql, 1)
		}
		add(nil, "COMMIT", "COMMIT", 1)
	}
	b.sql = sb.String()
	return b
}

// exec sends the batch and reads every answer: completed is how many commands Postgres
// completed before err.
func (b *batch) exec(ctx context.Context, conn *pgconn.PgConn) (completed int, err error) {
	mrr := conn.Exec(ctx, b.sql)
	for mrr.NextResult() {
		if _, err := mrr.ResultReader().Close(); err == nil {
			completed++
		}
	}
	return completed, mrr.Close()
}

// failed is the part of the batch that err, after completed commands, is the error of,
// and err with its position made relative to that part's statement.
func (b *batch) failed(completed int, err error) (*batchPart, error) {
	pe, _ := err.(*pgconn.PgError)
	if pe != nil && pe.Position > 0 {
		// A syntax error stops the whole string before anything runs, so only the position
		// can name it; for any error with one, it is the most precise.
		at := int(pe.Position) - 1
		for i := range b.parts {
			if p := &b.parts[i]; at >= p.char && at < p.char+p.chars {
				rel := *pe
				rel.Position = int32(at - p.char + 1)
				return p, &rel
			}
		}
	}
	n := 0
	for i := range b.parts {
		if n += b.parts[i].results; completed < n {
			if pe != nil && pe.Position > 0 {
				rel := *pe // the position lies outside every part: point nowhere
				rel.Position = 0
				return &b.parts[i], &rel
			}
			return &b.parts[i], err
		}
	}
	return nil, err
}

// label names the batch's statements in progress lines: the file and the line of its only
// statement, or the lines its statements span (the first file's, when there are several).
func (b *batch) label(name string) string {
	var first, last int
	for _, p := range b.parts {
		if p.st == nil || p.file > 0 {
			continue
		}
		if first == 0 {
			first = p.st.Line
		}
		last = p.st.Line
	}
	switch {
	case first == 0:
		return name
	case first == last:
		return fmt.Sprintf("%s:%d", name, first)
	}
	return name + ":" + strconv.Itoa(first) + "-" + strconv.Itoa(last)
}

// sqlLiteral quotes s as an escape string constant, which reads the same whatever
// standard_conforming_strings is.
func sqlLiteral(s string) string {
	return "E'" + literalEscaper.Replace(s) + "'"
}

var literalEscaper = strings.NewReplacer(`\`, `\\`, `'`, `''`)

// txMs is, in the revision row a batch writes, the file's execution time: its
// transaction's, measured by the server when the row is written.
const txMs = "(extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint"

// revisionSQL is the revision row of a file applied by a batch, as one statement.
func revisionSQL(schema string, r Revision) string {
	return upsertRevisionSQL(schema, sqlLiteral(r.Version), sqlLiteral(r.Description), sqlLiteral(r.Checksum),
		txMs, sqlLiteral(r.App), sqlLiteral(r.GitRevision),
		sqlLiteral(r.Status), strconv.Itoa(r.StatementsTotal), strconv.Itoa(r.StatementsApplied), sqlLiteral(r.LastError))
}

// The revision row written through a statement prepared once per run, so the server does
// not parse and plan the upsert again for every file.
const preparedRevision = "schemahook_revision"

// prepareRevisionSQL prepares revisionSQL's statement as preparedRevision.
func prepareRevisionSQL(schema string) string {
	return "PREPARE " + preparedRevision + " (text, text, text, text, text, text, integer, integer, text) AS " +
		upsertRevisionSQL(schema, "$1", "$2", "$3", txMs, "$4", "$5", "$6", "$7", "$8", "$9")
}

// executeRevisionSQL is revisionSQL through the prepared statement.
func executeRevisionSQL(r Revision) string {
	return "EXECUTE " + preparedRevision + " (" + strings.Join([]string{sqlLiteral(r.Version), sqlLiteral(r.Description),
		sqlLiteral(r.Checksum), sqlLiteral(r.App), sqlLiteral(r.GitRevision), sqlLiteral(r.Status),
		strconv.Itoa(r.StatementsTotal), strconv.Itoa(r.StatementsApplied), sqlLiteral(r.LastError)}, ", ") + ")"
}
