package hooks

import (
	"context"

	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/lint"
	"github.com/schemahook/schemahook/migrations"
)

// Linter is what the lint stage needs from the lint package: findings for the pending
// files, given the earlier ones, and whether the policy blocks.
type Linter interface {
	Lint(earlier, pending []*migrations.File) lint.Result
}

// policyLinter adapts lint.Files.
type policyLinter struct{ opts lint.Options }

func (l policyLinter) Lint(earlier, pending []*migrations.File) lint.Result {
	return lint.Files(earlier, pending, l.opts)
}

// lint runs stage 3 on the pending files, with what the dev copy and the target's catalog
// tell (hooks/catalog.go); findings go to the report, and a blocking one stops the run with
// exit 3 naming the first.
func (r *run) lint(ctx context.Context, plan *engine.Plan) error {
	opts := lint.Options{Policy: r.policy, LockTimeout: r.o.LockTimeout > 0, StatementByStatement: r.o.TxMode == engine.TxNone}
	if r.policy.Default != lint.LevelOff || len(r.policy.Rules) > 0 {
		cat, err := r.lintCatalog(ctx, plan.Pending)
		if err != nil {
			return err
		}
		opts.Catalog = cat
		opts.SmallTable, _ = lint.ParseSmallTable(r.o.LintSmallTable) // checked by validate
	}
	var l Linter = policyLinter{opts: opts}
	pending := map[*migrations.File]bool{}
	for _, f := range plan.Pending {
		pending[f] = true
	}
	var earlier []*migrations.File
	for _, f := range r.dir.Files {
		if !pending[f] {
			earlier = append(earlier, f)
		}
	}
	res := l.Lint(earlier, plan.Pending)
	for i := range res.Findings {
		res.Findings[i].File = r.displayName(res.Findings[i].File)
	}
	r.rep.Findings = append(r.rep.Findings, res.Findings...)
	for _, f := range res.Findings {
		r.logf("lint %s", f.String())
	}
	if res.Blocked {
		for _, f := range res.Findings {
			if f.Severity == lint.SeverityError {
				msg := f.Message + " (lint policy " + r.o.Lint
				if f.Hint != "" {
					msg += "; " + f.Hint
				}
				return &failure.Error{Stage: failure.StageLint, Exit: failure.ExitLint, File: f.File, Line: f.Line, Col: f.Col, Rule: f.Code, Msg: msg + ")"}
			}
		}
	}
	r.logf("lint passed (%d finding(s), policy %s)", len(res.Findings), r.o.Lint)
	return nil
}

// displayName prefixes a bare file name with the directory as the user knows it.
func (r *run) displayName(name string) string {
	for _, f := range r.dir.Files {
		if f.Name == name {
			return r.name(f)
		}
	}
	return name
}
