package hooks

// The dev replay (stage 2) and the lint (stage 3) run their steps at once where one does not
// need another's result: the dev server starts and the target's schema is dumped while verify
// reads the history, then the fresh replay, the copy replay, the drift check and the lint
// run side by side. Each step logs into a buffer of its own, and the steps are reported in
// the order they used to run in, so the log, the report and the error are those of a run
// that took them one after another: the first failure in that order is the one reported,
// and nothing of a later step is shown. Nothing touches the target before all passed.

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/failure"
)

// step is one step of the dev and lint stages that runs beside others, on a copy of the run
// that logs into its own buffer and fills a report of its own.
type step struct {
	r    *run
	log  bytes.Buffer
	done chan struct{} // closed when err is set
	err  error
}

// step makes a step on a copy of r, which shares r's target connection: of the steps that
// run at once only the lint uses it.
func (r *run) step() *step {
	s := &step{done: make(chan struct{})}
	c := *r
	c.o.Stderr, c.rep = &s.log, newReport()
	s.r = &c
	return s
}

// run runs f on the step's run in a goroutine of wg.
func (s *step) run(wg *sync.WaitGroup, f func(r *run) error) {
	wg.Go(func() {
		defer close(s.done)
		s.err = f(s.r)
	})
}

// report waits for s, then adds its log and its report to r's, and returns its error.
func (r *run) report(s *step) error {
	<-s.done
	r.o.Stderr.Write(s.log.Bytes())
	r.rep.Findings = append(r.rep.Findings, s.r.rep.Findings...)
	r.rep.Drift = append(r.rep.Drift, s.r.rep.Drift...)
	return s.err
}

// devPrep is what the replays need, made ready while verify runs: the dev server (the
// ephemeral one's start, initdb mostly, is the dev stage's largest fixed cost), pg_dump and
// psql, and the target's schema dump. Its step is done when the server is ready.
type devPrep struct {
	*step
	begin   time.Time
	admin   string        // the dev server's URL for creating databases
	srv     *devdb.Server // the ephemeral server; nil with --dev-url URL
	dumped  chan struct{} // closed when client, clientErr, dump and dumpErr are set
	client  devdb.Bin
	dump    []byte
	dumpErr error
	// clientErr is the failed search for the ephemeral server's pg_dump and psql: reported
	// before all else, as when they were looked for before the server started.
	clientErr error

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopped  chan struct{}
}

// prepareDev starts getting the dev replay ready. It is called once something is pending,
// never on the nothing-to-do path, and returns nil when the run has no dev replay.
func (r *run) prepareDev(ctx context.Context) *devPrep {
	if r.o.DevURL == config.DevNone || r.mode == ModeDrift {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &devPrep{step: r.step(), begin: time.Now(), dumped: make(chan struct{}), cancel: cancel, stopped: make(chan struct{})}
	// Read here, before verify goes on: the target's connection serves one goroutine at a time.
	major, err := serverMajor(ctx, r.target)
	if err != nil {
		p.fail(&failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "server-version", Msg: err.Error()})
		return p
	}
	p.wg.Go(func() { p.prepare(ctx, major) })
	return p
}

// fail ends the preparation with err, for the server and the dump alike.
func (p *devPrep) fail(err error) {
	p.err, p.dumpErr = err, err
	close(p.done)
	close(p.dumped)
}

// prepare finds the binaries, then starts the ephemeral server (or checks the one given by
// URL) while pg_dump reads the target's schema.
func (p *devPrep) prepare(ctx context.Context, major int) {
	r := p.r
	if r.o.DevURL != config.DevEphemeral {
		err := r.checkDevServer(ctx, major)
		if err == nil {
			p.client, err = r.findClient(major)
		}
		if err != nil {
			p.fail(err)
			return
		}
		p.admin = r.o.DevURL
		close(p.done)
	} else {
		// The server's binaries first, so a machine without them fails before anything starts.
		server, err := devdb.FindServer(major)
		if err != nil {
			p.fail(&failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server", Msg: "the ephemeral dev Postgres: " + err.Error()})
			return
		}
		p.wg.Go(func() {
			defer close(p.done)
			p.err = p.start(ctx, server.Dir, major)
		})
		// pg_dump and psql are looked for while the server starts; without them it is stopped.
		if p.client, p.clientErr = r.findClient(major, server.Dir); p.clientErr != nil {
			p.cancel()
			close(p.dumped)
			return
		}
	}
	p.dump, p.dumpErr = r.dumpSchema(ctx, p.client.Dir)
	close(p.dumped)
}

// start starts the ephemeral server.
func (p *devPrep) start(ctx context.Context, binDir string, major int) error {
	srv, err := devdb.Start(ctx, devdb.Options{BinDir: binDir})
	if err != nil {
		return &failure.Error{Stage: failure.StageDev, Exit: failure.ExitDev, Rule: "dev-server", Msg: "starting the ephemeral dev Postgres: " + err.Error()}
	}
	p.srv, p.admin = srv, srv.URL("postgres")
	if srv.Major() != major {
		p.r.logf("no Postgres %d server binaries found: the dev replay runs on Postgres %d (%s), the nearest newer major; install the Postgres %d server to replay on the target's own major",
			major, srv.Major(), srv.BinDir(), major)
	}
	p.r.logf("started an ephemeral Postgres %d for the dev replay in %s", srv.Major(), time.Since(p.begin).Round(time.Millisecond))
	return nil
}

// server waits for the dev server and returns its URL for creating databases.
func (p *devPrep) server() (string, error) {
	<-p.done
	return p.admin, p.err
}

// stop cancels what still runs and stops the ephemeral server, in the background: once the
// dev stage is over the run need not wait for it. close waits for it.
func (p *devPrep) stop() {
	if p == nil {
		return
	}
	p.stopOnce.Do(func() {
		p.cancel()
		go func() {
			p.wg.Wait()
			if p.srv != nil {
				p.srv.Stop()
			}
			close(p.stopped)
		}()
	})
}

// close stops everything prepareDev started and waits until it is gone.
func (p *devPrep) close() {
	if p == nil {
		return
	}
	p.stop()
	<-p.stopped
}

// devAndLint runs stages 2 and 3: the replays on the dev server p prepared, each on its
// own database, and the lint, which waits only for the copy replay (the volatility of the
// functions the pending files call is read there). The target is only read.
func (r *run) devAndLint(ctx context.Context, plan *engine.Plan, p *devPrep) error {
	if r.o.DevURL == config.DevNone {
		r.logf("dev replay skipped (--dev-url none): pending migrations are not validated before the target")
		return r.lint(ctx, plan)
	}
	<-p.dumped
	if p.clientErr != nil {
		return p.clientErr
	}
	if p.dumpErr != nil {
		if err := r.report(p.step); err != nil {
			return err // the server's failure first, as when the server started before the dump
		}
		return p.dumpErr
	}
	// (a) every file from the start, proving the directory builds a schema from nothing.
	// Files marked by --baseline never ran anywhere we can replay, so with a baseline only
	// (b) validates.
	baselined := false
	for _, m := range plan.Mark {
		baselined = baselined || m.Status == engine.StatusBaseline
	}
	fresh := r.o.Baseline == "" && !baselined
	// (b) the pending files on a schema-only copy of the target, catching conflicts with the
	// live schema (objects made by hand, drift). A target without history whose dump holds
	// no object copies to an empty database, on which (a) runs every pending file in the
	// same order: then (b) would repeat (a) exactly and is skipped, and with it reading the
	// lint's function volatility from the copy: on an empty target every table is new, and
	// the volatile-default rule has nothing to judge.
	r.targetEmpty = len(plan.History) == 0 && len(plan.Mark) == 0 && emptyDump(p.dump)
	skipCopy := fresh && r.targetEmpty

	var wg sync.WaitGroup
	defer wg.Wait()
	// A failure cancels the replays still running; the lint is let finish, as a cancelled
	// query would close the target's connection.
	devCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	freshStep, copyStep, driftStep, lintStep := r.step(), r.step(), r.step(), r.step()
	freshStep.run(&wg, func(r *run) error {
		if !fresh {
			r.logf("fresh replay skipped: files up to the baseline %s are not replayed", r.o.Baseline)
			return nil
		}
		admin, err := p.server()
		if err != nil {
			return err
		}
		return r.replayFresh(devCtx, admin, plan)
	})
	copyStep.run(&wg, func(r *run) error {
		if skipCopy {
			r.logf("copy replay skipped: the target has no history and an empty schema, so its copy is the empty database the fresh replay applied all %d files to", len(plan.Pending))
			return nil
		}
		admin, err := p.server()
		if err != nil {
			return err
		}
		return r.replayOnCopy(devCtx, admin, p.client, plan, p.dump)
	})
	driftStep.run(&wg, func(r *run) error {
		admin, err := p.server()
		if err != nil {
			return err
		}
		return r.driftBefore(devCtx, admin, p.client, plan)
	})
	lintStep.run(&wg, func(r *run) error {
		<-copyStep.done
		if copyStep.err != nil {
			return nil // the copy's failure is reported instead
		}
		r.devFuncs = copyStep.r.devFuncs
		return r.lint(ctx, plan)
	})
	for _, s := range []*step{p.step, freshStep, copyStep, driftStep} {
		if err := r.report(s); err != nil {
			return err
		}
	}
	r.devFuncs = copyStep.r.devFuncs
	r.logf("dev replay passed in %s", time.Since(p.begin).Round(time.Millisecond))
	return r.report(lintStep)
}
