package engine

import (
	"errors"
	"testing"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerify(t *testing.T) {
	dir := readDir(t, map[string]string{
		"001_a.sql": "CREATE TABLE a (id int);\n",
		"002_b.sql": "CREATE TABLE b (id int);\n",
		"003_c.sql": "CREATE TABLE c (id int);\n",
	})
	sum := map[string]string{}
	for _, f := range dir.Files {
		sum[f.Version] = f.Checksum
	}
	applied := func(v string) Revision {
		return Revision{Version: v, Checksum: sum[v], Status: StatusApplied, StatementsTotal: 1, StatementsApplied: 1}
	}
	for _, tc := range []struct {
		name     string
		hist     []Revision
		opts     PlanOptions
		pending  []string
		marks    []string
		resume   map[string]int
		rule     string // expected error rule
		code     failure.ExitCode
		file     string
		contains string
	}{
		{name: "fresh", pending: []string{"001", "002", "003"}},
		{name: "some applied", hist: []Revision{applied("001")}, pending: []string{"002", "003"}},
		{name: "all applied", hist: []Revision{applied("001"), applied("002"), applied("003")}, pending: nil},
		{name: "version written differently", hist: []Revision{applied("1")}, pending: []string{"002", "003"}},
		{name: "checksum mismatch", hist: []Revision{{Version: "002", Checksum: "deadbeef", Status: StatusApplied}},
			rule: "checksum-mismatch", code: 4, file: "002_b.sql", contains: "restore the file"},
		{name: "applied file missing", hist: []Revision{applied("001"), {Version: "004", Description: "d", Status: StatusApplied}},
			rule: "applied-file-missing", code: 4, file: "004 (d)", contains: "never un-applies"},
		{name: "out of order", hist: []Revision{applied("001"), applied("003")},
			rule: "out-of-order", code: 4, file: "002_b.sql", contains: "--allow-out-of-order"},
		{name: "out of order allowed", hist: []Revision{applied("001"), applied("003")}, opts: PlanOptions{AllowOutOfOrder: true}, pending: []string{"002"}},
		{name: "partial blocks", hist: []Revision{applied("001"), {Version: "002", Checksum: sum["002"], Status: StatusPartial, StatementsTotal: 3, StatementsApplied: 1, LastError: "boom"}},
			rule: "partial-migration", code: 4, file: "002_b.sql", contains: "--resume-partial 002"},
		{name: "partial resumed", hist: []Revision{applied("001"), {Version: "002", Checksum: sum["002"], Status: StatusPartial, StatementsTotal: 3, StatementsApplied: 1}},
			opts: PlanOptions{ResumePartial: "002"}, pending: []string{"002", "003"}, resume: map[string]int{"002": 1}},
		{name: "resume without partial", hist: []Revision{applied("001")}, opts: PlanOptions{ResumePartial: "002"},
			rule: "resume-partial", code: 1, contains: "no partially applied"},
		{name: "baseline", opts: PlanOptions{Baseline: "002"}, pending: []string{"003"}, marks: []string{"001", "002"}},
		{name: "baseline kept after the first run", hist: []Revision{{Version: "001", Status: StatusBaseline}, {Version: "002", Status: StatusBaseline}, applied("003")},
			opts: PlanOptions{Baseline: "002"}, pending: nil},
		{name: "baseline tolerates squashed files", hist: []Revision{{Version: "000", Status: StatusApplied}, {Version: "002", Status: StatusBaseline}, applied("001")},
			opts: PlanOptions{Baseline: "002"}, pending: []string{"003"}},
		{name: "baseline never skips a new old file", hist: []Revision{applied("003")}, opts: PlanOptions{Baseline: "002"},
			rule: "out-of-order", code: 4, file: "001_a.sql", contains: "older than version 003"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Verify(dir, tc.hist, tc.opts)
			if tc.rule != "" {
				require.Error(t, err)
				var e *failure.Error
				require.True(t, errors.As(err, &e))
				assert.Equal(t, tc.rule, e.Rule)
				assert.Equal(t, tc.code, e.Exit)
				assert.Equal(t, tc.file, e.File)
				assert.Contains(t, e.Error(), tc.contains)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.pending, versions(p.Pending))
			var marks []string
			for _, m := range p.Mark {
				marks = append(marks, m.Version)
				assert.Equal(t, StatusBaseline, m.Status)
			}
			assert.Equal(t, tc.marks, marks)
			if tc.resume != nil {
				assert.Equal(t, tc.resume, p.Resume)
			}
		})
	}
}

func TestVerifyRepeatables(t *testing.T) {
	dir := readDir(t, map[string]string{
		"V1__a.sql":      "CREATE TABLE a (id int);\n",
		"R__view_a.sql":  "CREATE OR REPLACE VIEW va AS SELECT id FROM a;\n",
		"R__view_a2.sql": "CREATE OR REPLACE VIEW va2 AS SELECT id FROM a;\n",
	})
	var r1, r2, v1 *migrations.File
	for _, f := range dir.Files {
		switch f.Name {
		case "R__view_a.sql":
			r1 = f
		case "R__view_a2.sql":
			r2 = f
		default:
			v1 = f
		}
	}
	hist := []Revision{
		{Version: "1", Checksum: v1.Checksum, Status: StatusApplied},
		{Version: Key(r1), Checksum: r1.Checksum, Status: StatusApplied},
		{Version: Key(r2), Checksum: "old", Status: StatusApplied},
		{Version: "R__gone", Checksum: "x", Status: StatusApplied},
	}
	p, err := Verify(dir, hist, PlanOptions{})
	require.NoError(t, err)
	require.Len(t, p.Pending, 1, "only the changed repeatable re-runs")
	assert.Equal(t, "R__view_a2.sql", p.Pending[0].Name)
}

func versions(fs []*migrations.File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Version)
	}
	return out
}
