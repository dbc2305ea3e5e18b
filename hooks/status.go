package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
)

// StatusEntry is one migration's state on the target.
type StatusEntry struct {
	Version     string    `json:"version"`
	Name        string    `json:"name"`
	State       string    `json:"state"` // applied, baseline, adopted, partial, pending, changed, missing-file
	AppliedAt   time.Time `json:"appliedAt,omitzero"`
	Statements  string    `json:"statements,omitempty"`
	App         string    `json:"app,omitempty"`
	GitRevision string    `json:"gitRevision,omitempty"`
	LastError   string    `json:"lastError,omitempty"`
}

// Status prints what the revisions table says about each file: applied, pending, partial,
// changed since applied, or applied without a file. It takes no lock and writes nothing.
// A history that would stop `apply` returns that error (exit 4) after printing.
func Status(ctx context.Context, o Options) error {
	o.defaults()
	r := &run{o: o, start: time.Now(), rep: newReport()}
	var entries []StatusEntry
	err := func() error {
		if _, err := r.o.validate(); err != nil {
			return err
		}
		if err := r.readDir(); err != nil {
			return err
		}
		conn, err := engine.Connect(ctx, r.o.URL, engine.ConnectOptions{Timeout: r.o.ConnectTimeout, AppName: r.appName(), Log: r.log})
		if err != nil {
			return stageErr(failure.StageVerify, err)
		}
		defer conn.Close(context.Background())
		r.target = conn
		hist, _, err := engine.LoadHistory(ctx, conn, r.o.RevisionsSchema)
		if err != nil {
			return stageErr(failure.StageVerify, err)
		}
		entries = r.statusEntries(hist)
		_, verr := engine.Verify(r.dir, hist, engine.PlanOptions{AllowOutOfOrder: r.o.AllowOutOfOrder, Baseline: r.o.Baseline, RevisionsSchema: r.o.RevisionsSchema})
		if verr != nil {
			return stageErr(failure.StageVerify, verr)
		}
		return nil
	}()
	var herr *failure.Error
	if err != nil {
		herr = r.toError(err)
	}
	if r.o.Output == OutputJSON {
		b, _ := json.MarshalIndent(struct {
			Migrations []StatusEntry  `json:"migrations"`
			Error      *failure.Error `json:"error"`
		}{entries, herr}, "", "  ")
		fmt.Fprintln(r.o.Stdout, string(b))
	} else {
		tw := tabwriter.NewWriter(r.o.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tSTATEMENTS\tFILE")
		for _, e := range entries {
			at := ""
			if !e.AppliedAt.IsZero() {
				at = e.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Version, e.State, at, e.Statements, e.Name)
		}
		tw.Flush()
	}
	if herr != nil {
		return herr
	}
	return nil
}

func (r *run) statusEntries(hist []engine.Revision) []StatusEntry {
	byKey := map[string]engine.Revision{}
	for _, h := range hist {
		byKey[h.Version] = h
	}
	seen := map[string]bool{}
	var out []StatusEntry
	for _, f := range r.dir.Files {
		k := engine.Key(f)
		e := StatusEntry{Version: f.Version, Name: r.name(f), State: "pending"}
		h, ok := byKey[k]
		if !ok { // versions written differently ("001" vs "1") still match
			for _, x := range hist {
				if !f.Repeatable && engine.SameVersion(x.Version, f.Version) {
					h, ok = x, true
				}
			}
		}
		if ok {
			seen[h.Version] = true
			e.State, e.AppliedAt, e.App, e.GitRevision, e.LastError = h.Status, h.AppliedAt, h.App, h.GitRevision, h.LastError
			e.Statements = fmt.Sprintf("%d/%d", h.StatementsApplied, h.StatementsTotal)
			if h.Status == engine.StatusApplied && h.Checksum != f.Checksum {
				e.State = "changed"
				if f.Repeatable {
					e.State = "pending"
				}
			}
		}
		out = append(out, e)
	}
	for _, h := range hist {
		if !seen[h.Version] {
			out = append(out, StatusEntry{Version: h.Version, Name: h.Description, State: "missing-file", AppliedAt: h.AppliedAt})
		}
	}
	return out
}
