// Package stories holds the end-to-end stories: an app directory in Git rendered by Argo
// CD's own plugin server and repo-server code, synced and diffed with Argo CD's sync engine
// and diff against a real API server with the Job controller, the hook Job run by a node
// agent as the freshly built schemahook binary, migrating a real Postgres.
//
// The stories are written once against the ArgoCD interface and run by each module that
// links an Argo CD version: this module's stories_test.go with argo-cd/v2, e2e/argocd3's
// with argo-cd/v3. A story is a func(t *testing.T) registered in an init function:
//
//	func init() { register("Drift", storyDrift) }
//
// and it gets the shared environment with environment(t) (control plane, Postgres, plugin
// server) or plugin(t) (the plugin server alone).
package stories

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schemahook/schemahook/e2e/controlplane"
	"github.com/schemahook/schemahook/e2e/postgres"
)

// RepoRoot is the schemahook work tree (plugin.yaml, Makefile, manifests/examples), found
// from this file's path, since the stories run from either module's directory.
var RepoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// argo is the Argo CD version the stories run against (set by Main).
var argo ArgoCD

// story is one registered story.
type story struct {
	name string
	run  func(t *testing.T)
}

var all []story

// register adds a story; Run runs them in registration order (file names, then order in
// the file).
func register(name string, run func(t *testing.T)) {
	all = append(all, story{name, run})
}

// Main is the body of a module's TestMain: the stories run against a, then the shared
// environment stops.
func Main(m *testing.M, a ArgoCD) int {
	argo = a
	fmt.Fprintf(os.Stderr, "e2e stories against Argo CD %s code (%s tracking)\n", a.Version(), a.TrackingMethod())
	code := m.Run()
	if shared.v != nil {
		shared.v.teardown()
	}
	if sharedPlugin.v != nil {
		sharedPlugin.v.teardown()
	}
	return code
}

// Run runs every story as a subtest (go test -run 'TestStories/SyncAndDiff').
func Run(t *testing.T) {
	if argo == nil {
		t.Fatal("stories.Run without stories.Main in TestMain")
	}
	for _, s := range all {
		t.Run(s.name, s.run)
	}
}

// pluginEnv is the plugin server alone, for the stories that only render.
type pluginEnv struct {
	binDir   string // the schemahook binary the plugin server runs
	server   Plugin
	cleanups []func()
}

// lazy is a shared part of the environment, started by the first story that needs it.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

// get starts the part on first use and fails t (naming what) if it did not start, then or
// before.
func (l *lazy[T]) get(t *testing.T, what string, start func() (T, error)) T {
	t.Helper()
	l.once.Do(func() { l.v, l.err = start() })
	if l.err != nil {
		t.Fatalf("%s: %v", what, l.err)
	}
	return l.v
}

var sharedPlugin lazy[*pluginEnv]

// plugin starts the shared plugin server (Argo CD's argocd-cmp-server with the repository's
// plugin.yaml) on first use.
func plugin(t *testing.T) *pluginEnv {
	t.Helper()
	return sharedPlugin.get(t, "plugin server", startPlugin)
}

func startPlugin() (_ *pluginEnv, err error) {
	p := &pluginEnv{}
	defer func() {
		if err != nil {
			p.teardown()
		}
	}()
	binDir, cleanBin, err := BuildBinary(RepoRoot)
	if err != nil {
		return nil, err
	}
	p.cleanups = append(p.cleanups, cleanBin)
	p.binDir = binDir
	if p.server, err = argo.StartPlugin(RepoRoot, binDir); err != nil {
		return nil, err
	}
	p.cleanups = append(p.cleanups, func() { _ = p.server.Close() })
	return p, nil
}

func (p *pluginEnv) teardown() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

// env is what every story shares: one control plane, one Postgres server, one plugin server.
type env struct {
	dir      string // reachable by the hook's uid and the postgres user
	binary   string // the schemahook binary the agent runs as the image
	image    string // the image the agent runs hook pods in ($SCHEMAHOOK_E2E_IMAGE), if any
	renders  string // the image the binary renders into hook Jobs
	pgBin    string
	cp       *controlplane.ControlPlane
	pg       *postgres.Server
	cmp      Plugin
	sealKey  *rsa.PrivateKey
	sealCert string // the controller's certificate (PEM file) that `schemahook seal` reads
	unsealer *unsealer
	cleanups []func()
}

var shared lazy[*env]

// environment starts the shared environment on first use (the plugin server's too). Without
// the control-plane binaries the stories skip, unless SCHEMAHOOK_E2E_REQUIRE=1 (e2e/run.sh,
// CI) makes that a failure.
func environment(t *testing.T) *env {
	t.Helper()
	bins := controlplane.RequireBinaries(t)
	p := plugin(t)
	return shared.get(t, "e2e environment", func() (*env, error) { return setup(bins, p) })
}

func setup(bins controlplane.Binaries, p *pluginEnv) (_ *env, err error) {
	started := time.Now()
	e := &env{}
	defer func() {
		if err != nil {
			e.teardown()
		}
	}()
	if _, err := user.LookupId("999"); err != nil {
		return nil, fmt.Errorf("the hook runs as uid 999 and its dev Postgres needs a passwd entry for it (e2e/run.sh adds one): %w", err)
	}
	// Short paths: the hook's dev Postgres puts a unix socket under the pod's /tmp.
	if e.dir, err = os.MkdirTemp("", "she2e"); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	e.cleanups = append(e.cleanups, func() { os.RemoveAll(e.dir) })
	if err := os.Chmod(e.dir, 0o755); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	if e.pgBin, err = postgres.BinDir(); err != nil {
		return nil, err
	}

	binDir := p.binDir
	e.cmp = p.server
	// A copy the hook's uid can execute wherever the build put the original.
	e.binary = filepath.Join(e.dir, "bin", "schemahook")
	if err := copyExecutable(filepath.Join(binDir, "schemahook"), e.binary); err != nil {
		return nil, err
	}
	// The hook Jobs name the image the binary was built for ("schemahook V (image X)"); the
	// agent runs the local image in its place.
	if e.image = os.Getenv("SCHEMAHOOK_E2E_IMAGE"); e.image != "" {
		out, err := exec.Command(e.binary, "version").Output()
		if err != nil {
			return nil, fmt.Errorf("schemahook version: %w", err)
		}
		_, img, ok := strings.Cut(strings.TrimSpace(string(out)), "(image ")
		if !ok {
			return nil, fmt.Errorf("schemahook version: no image in %q", out)
		}
		e.renders = strings.TrimSuffix(img, ")")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cpDir := filepath.Join(e.dir, "cp")
	if err := os.Mkdir(cpDir, 0o700); err != nil {
		return nil, fmt.Errorf("control plane dir: %w", err)
	}
	if e.cp, err = controlplane.Start(ctx, cpDir, bins); err != nil {
		return nil, err
	}
	e.cleanups = append(e.cleanups, e.cp.Stop)
	if e.pg, err = postgres.Start(ctx, e.dir, e.pgBin); err != nil {
		return nil, err
	}
	e.cleanups = append(e.cleanups, e.pg.Stop)
	if err := installSealedSecretCRD(ctx, e.cp.Config); err != nil {
		return nil, err
	}
	e.sealCert = filepath.Join(e.dir, "sealed-secrets-cert.pem")
	if e.sealKey, err = newSealingKey(e.sealCert); err != nil {
		return nil, err
	}
	if e.unsealer, err = startUnsealer(e.cp.Config, e.cp.Client, e.sealKey); err != nil {
		return nil, err
	}
	e.cleanups = append(e.cleanups, e.unsealer.stop)
	fmt.Fprintf(os.Stderr, "e2e environment ready in %s\n", time.Since(started).Round(time.Millisecond))
	return e, nil
}

func (e *env) teardown() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dst, err)
	}
	return nil
}
