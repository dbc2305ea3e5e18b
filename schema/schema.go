// Package schema holds a database schema as text and as objects: the pg_dump --schema-only
// of a database, normalised so that the same schema gives the same text on every run and
// every supported Postgres major (schema.sql), and the object-level difference between two
// schemas (what the drift check reports).
package schema

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Object is one entry of pg_dump's table of contents: a table, an index, a constraint, a
// function, ... with the SQL that creates it.
type Object struct {
	Type   string // pg_dump's type: TABLE, INDEX, FK CONSTRAINT, FUNCTION, ...
	Schema string // "-" for objects outside a schema (extensions, schemas)
	Name   string // pg_dump's name: "orders", "orders orders_pkey", "f(integer)"
	SQL    string // without trailing blank lines
}

// Schema is a normalised schema: its objects in pg_dump's order (by kind, then name, with
// dependencies first), which does not depend on object ids or on the server's major.
type Schema struct {
	Objects []Object
}

// tocRE matches pg_dump's entry header, and the shorter one Text writes (no Owner).
var tocRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^-- Name: (.*); Type: ([A-Z][A-Z ]*); Schema: ([^;]*)(?:; Owner: .*)?$`)
})

// Lines pg_dump writes that vary by run, client or server without saying anything about the
// schema: settings, the random \restrict key of pg_dump 17.6+/18, version banners.
var noiseRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(SET [a-z_.]+ = [^;]*;|SELECT pg_catalog\.set_config\(.*\);|\\(un)?restrict .*)$`)
})

// Parse reads a plain pg_dump --schema-only, or a schema Text wrote, into its objects.
// Everything before the first entry (banner, settings) is dropped.
func Parse(dump string) (*Schema, error) {
	s := &Schema{}
	var cur *Object
	var body []string
	flush := func() {
		if cur == nil {
			return
		}
		// Drop the "--" framing lines of the next header and blank lines at the end.
		for len(body) > 0 && (strings.TrimSpace(body[len(body)-1]) == "" || body[len(body)-1] == "--") {
			body = body[:len(body)-1]
		}
		for len(body) > 0 && (strings.TrimSpace(body[0]) == "" || body[0] == "--") {
			body = body[1:]
		}
		cur.SQL = strings.Join(body, "\n")
		if cur.Type == "VIEW" || cur.Type == "MATERIALIZED VIEW" {
			cur.SQL = unqualifyView(cur.SQL)
		}
		// pg_dump 18 writes "-- *not* creating schema, since initdb creates it" for the
		// public schema of a Postgres 14 server only: an entry of comments says nothing.
		if onlyComments(body) {
			cur.SQL = ""
		}
		if cur.SQL != "" {
			s.Objects = append(s.Objects, *cur)
		}
		cur, body = nil, nil
	}
	for _, line := range strings.Split(strings.ReplaceAll(dump, "\r\n", "\n"), "\n") {
		line = strings.TrimRight(line, " \t")
		if m := tocRE().FindStringSubmatch(line); m != nil {
			flush()
			cur = &Object{Name: m[1], Type: m[2], Schema: m[3]}
			continue
		}
		if noiseRE().MatchString(line) {
			continue
		}
		if cur == nil {
			continue // banner and settings before the first entry
		}
		if strings.HasPrefix(line, "-- ") && strings.Contains(line, "PostgreSQL database dump complete") {
			continue
		}
		// Collapse runs of blank lines.
		if line == "" && len(body) > 0 && body[len(body)-1] == "" {
			continue
		}
		body = append(body, line)
	}
	flush()
	return s, nil
}

// Text is the normalised schema: each object under a one-line header naming it.
func (s *Schema) Text() string {
	var b strings.Builder
	for i, o := range s.Objects {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "-- Name: %s; Type: %s; Schema: %s\n%s\n", o.Name, o.Type, o.Schema, o.SQL)
	}
	return b.String()
}

// Normalize is Parse then Text: the form schema.sql holds and the drift check compares.
func Normalize(dump string) (string, error) {
	s, err := Parse(dump)
	if err != nil {
		return "", err
	}
	return s.Text(), nil
}

func onlyComments(lines []string) bool {
	for _, l := range lines {
		if l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}
