package schema

import (
	"fmt"
	"strings"
)

// Difference is one object that differs between the schema the migrations build (expected)
// and the live one: added on the live database, removed from it, or changed.
type Difference struct {
	Kind   string `json:"kind"`   // table, column, index, constraint, function, ...
	Name   string `json:"name"`   // schema-qualified: public.orders.status
	Change string `json:"change"` // added, removed, changed
}

func (d Difference) String() string { return fmt.Sprintf("%s %s %s", d.Kind, d.Name, d.Change) }

// The changes, as seen from the live database.
const (
	Added   = "added"   // on the live database, not built by the migrations
	Removed = "removed" // built by the migrations, missing on the live database
	Changed = "changed" // on both, defined differently
)

// item is an object as the diff compares it: tables are split into the table itself and
// one item per column and inline constraint, so a column added by hand is reported as that
// column, not as a changed table.
type item struct {
	kind, name, sql string
}

// items splits s into the compared items, keyed by kind and name, in s's order.
func (s *Schema) items() ([]string, map[string]item) {
	var keys []string
	m := map[string]item{}
	add := func(it item) {
		k := it.kind + " " + it.name
		if _, dup := m[k]; dup {
			it.sql = m[k].sql + "\n" + it.sql // e.g. a COMMENT on two overloads: keep both
		} else {
			keys = append(keys, k)
		}
		m[k] = it
	}
	for _, o := range s.Objects {
		name := qualify(o)
		kind := strings.ToLower(o.Type)
		if kind == "fk constraint" {
			kind = "constraint"
		}
		if o.Type == "TABLE" {
			table, parts := splitTable(o.SQL)
			add(item{"table", name, table})
			for _, p := range parts {
				add(item{p.kind, name + "." + p.name, p.sql})
			}
			continue
		}
		add(item{kind, name, o.SQL})
	}
	return keys, m
}

// qualify names an object as users write it: schema.table.constraint for the objects
// pg_dump names "table constraint", schema.name otherwise.
func qualify(o Object) string {
	name := o.Name
	switch o.Type {
	case "CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT", "DEFAULT", "TRIGGER", "POLICY", "RULE":
		name = strings.Replace(name, " ", ".", 1)
	}
	if o.Schema == "-" || o.Schema == "" {
		return name
	}
	return o.Schema + "." + name
}

type part struct{ kind, name, sql string }

// splitTable splits pg_dump's CREATE TABLE into the statement without its elements and one
// part per column and inline constraint. pg_dump writes one element per line, indented by
// four spaces; a line that is not is the continuation of the element before it.
func splitTable(sql string) (string, []part) {
	lines := strings.Split(sql, "\n")
	open := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "CREATE ") && strings.HasSuffix(l, " (") {
			open = i
			break
		}
	}
	if open < 0 {
		return sql, nil
	}
	var parts []part
	rest := []string{}
	i := open + 1
	for ; i < len(lines) && !strings.HasPrefix(lines[i], ")"); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "    ") && len(parts) > 0 {
			parts[len(parts)-1].sql += "\n" + l
			continue
		}
		el := strings.TrimSuffix(strings.TrimSpace(l), ",")
		if strings.HasPrefix(el, "CONSTRAINT ") {
			parts = append(parts, part{"constraint", firstIdent(strings.TrimPrefix(el, "CONSTRAINT ")), el})
		} else {
			parts = append(parts, part{"column", firstIdent(el), el})
		}
	}
	for k := range parts {
		parts[k].sql = strings.TrimSuffix(parts[k].sql, ",")
	}
	rest = append(rest, lines[:open+1]...)
	rest = append(rest, lines[i:]...)
	return strings.Join(rest, "\n"), parts
}

// firstIdent is the identifier s starts with, unquoted when pg_dump quoted it.
func firstIdent(s string) string {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '"' {
				if i+1 < len(s) && s[i+1] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				return b.String()
			}
			b.WriteByte(s[i])
		}
		return b.String()
	}
	name, _, _ := strings.Cut(s, " ")
	return name
}

// Diff lists every object that differs between expected (what the migrations build) and
// live, in expected's order, then the objects only live has, in live's order.
func Diff(expected, live *Schema) []Difference {
	ek, em := expected.items()
	lk, lm := live.items()
	var out []Difference
	for _, k := range ek {
		e := em[k]
		l, ok := lm[k]
		switch {
		case !ok:
			out = append(out, Difference{e.kind, e.name, Removed})
		case l.sql != e.sql:
			out = append(out, Difference{e.kind, e.name, Changed})
		}
	}
	for _, k := range lk {
		if _, ok := em[k]; !ok {
			l := lm[k]
			out = append(out, Difference{l.kind, l.name, Added})
		}
	}
	return out
}

// Unified is a unified diff from expected to live, one hunk per differing object, headed
// by the object's kind and name instead of line numbers (the two texts are not files).
func Unified(expected, live *Schema, expectedLabel, liveLabel string) string {
	diffs := Diff(expected, live)
	if len(diffs) == 0 {
		return ""
	}
	_, em := expected.items()
	_, lm := live.items()
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", expectedLabel, liveLabel)
	for _, d := range diffs {
		k := d.Kind + " " + d.Name
		fmt.Fprintf(&b, "@@ %s %s (%s) @@\n", d.Kind, d.Name, d.Change)
		var a, c []string
		if e, ok := em[k]; ok {
			a = strings.Split(e.sql, "\n")
		}
		if l, ok := lm[k]; ok {
			c = strings.Split(l.sql, "\n")
		}
		for _, l := range lineDiff(a, c) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// lineDiff is the lines of a and b marked " ", "-" or "+" along a longest common
// subsequence. Objects are a few lines long, so the quadratic table is small.
func lineDiff(a, b []string) []string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, " "+a[i])
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "-"+a[i])
			i++
		default:
			out = append(out, "+"+b[j])
			j++
		}
	}
	return out
}
