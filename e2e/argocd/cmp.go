// Package argocd runs Argo CD's own plugin server (argocd-cmp-server) and the repo-server's
// manifest generation code in-process, so the e2e tests render manifests exactly as a real
// argocd-repo-server with the schemahook sidecar does: same discovery, same repository
// streaming, same ARGOCD_* environment and ARGOCD_APP_PARAMETERS.
//
// The source is e2e/argocd, written against Argo CD v2; e2e/argocd3 generates its v3 twin
// from these files, with the Argo CD imports rewritten to v3. What differs between the
// versions lives in version.go and version_test.go, one pair per module.
package argocd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/argoproj/argo-cd/v2/cmpserver"
	"github.com/argoproj/argo-cd/v2/cmpserver/plugin"
	"github.com/argoproj/argo-cd/v2/common"
	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	repoapiclient "github.com/argoproj/argo-cd/v2/reposerver/apiclient"
	"github.com/argoproj/argo-cd/v2/reposerver/repository"
	"github.com/argoproj/argo-cd/v2/util/app/discovery"
	log "github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AppLabelKey is argocd-cm's application.instanceLabelKey default: the label Argo CD v2
// tracks resources with by default (label tracking); v3 sends it to the repo-server still,
// though its default tracking does not use it.
const AppLabelKey = "app.kubernetes.io/instance"

// Argo CD's plugin server and discovery read their directories from the process
// environment, so only one Server may run per process at a time.
var running sync.Mutex

// Server is a running argocd-cmp-server configured with a plugin.yaml.
type Server struct {
	Config *plugin.PluginConfig
	// SocketDir is the repo-server's plugins directory: the one socket lives in it.
	SocketDir string

	grpc    *grpc.Server
	done    chan error
	restore func()
	tempDir string // removed on Close when Start made it
}

// Options says which plugin.yaml to serve and which schemahook binary it runs.
type Options struct {
	// PluginDir holds plugin.yaml (the repository root for the repository's own file).
	PluginDir string
	// BinDir is put first on PATH, so plugin.yaml's commands find the freshly built binary,
	// as they find /usr/local/bin/schemahook in the image.
	BinDir string
	// TempDir holds the socket and the plugin's work directory; a fresh one when empty.
	TempDir string
}

// Start loads plugin.yaml with Argo CD's own reader and serves it on a unix socket, as the
// sidecar's argocd-cmp-server does.
func Start(opts Options) (*Server, error) {
	cfg, err := plugin.ReadPluginConfig(opts.PluginDir)
	if err != nil {
		return nil, fmt.Errorf("read plugin config in %s: %w", opts.PluginDir, err)
	}
	if !running.TryLock() {
		return nil, errors.New("an argocd-cmp-server already runs in this process")
	}
	unlockOnError := true
	defer func() {
		if unlockOnError {
			running.Unlock()
		}
	}()
	dir, owned := opts.TempDir, ""
	if dir == "" {
		// Unix socket paths are limited to about 100 bytes: keep the directory short.
		if dir, err = os.MkdirTemp("", "cmp"); err != nil {
			return nil, fmt.Errorf("create cmp-server directory: %w", err)
		}
		owned = dir
	}
	sockDir := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(sockDir, 0o700); err != nil {
		if owned != "" {
			os.RemoveAll(owned)
		}
		return nil, fmt.Errorf("create plugins directory: %w", err)
	}

	restore := setenv(map[string]string{
		common.EnvPluginSockFilePath: sockDir,
		common.EnvCMPWorkDir:         filepath.Join(dir, "work"),
		"PATH":                       opts.BinDir + string(os.PathListSeparator) + os.Getenv("PATH"),
	})
	s := &Server{Config: cfg, SocketDir: sockDir, done: make(chan error, 1), tempDir: owned}
	unlockOnError = false // s.restore unlocks from here on
	s.restore = func() {
		restore()
		running.Unlock()
		if s.tempDir != "" {
			os.RemoveAll(s.tempDir)
		}
	}

	srv, err := cmpserver.NewServer(plugin.CMPServerInitConstants{PluginConfig: *cfg})
	if err != nil {
		s.restore()
		return nil, fmt.Errorf("new cmp-server: %w", err)
	}
	// CreateGRPC and Serve are what ArgoCDCMPServer.Run does, minus its signal handling and
	// os.Exit on errors.
	if s.grpc, err = srv.CreateGRPC(); err != nil {
		s.restore()
		return nil, fmt.Errorf("create cmp-server gRPC: %w", err)
	}
	lis, err := net.Listen("unix", cfg.Address())
	if err != nil {
		s.restore()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Address(), err)
	}
	go func() { s.done <- s.grpc.Serve(lis) }()
	return s, nil
}

// Attach is the repo-server's side only: it renders through a plugin server that runs
// elsewhere (in the image, as the sidecar) and serves its socket in sockDir.
func Attach(sockDir string) (*Server, error) {
	if !running.TryLock() {
		return nil, errors.New("an argocd-cmp-server already runs in this process")
	}
	restore := setenv(map[string]string{common.EnvPluginSockFilePath: sockDir})
	return &Server{SocketDir: sockDir, restore: func() {
		restore()
		running.Unlock()
	}}, nil
}

// Close stops the server and restores the environment it changed.
func (s *Server) Close() error {
	if s.grpc == nil { // attached: the server is not ours to stop
		s.restore()
		return nil
	}
	s.grpc.Stop()
	err := <-s.done
	s.restore()
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("cmp-server: %w", err)
	}
	return nil
}

// Render generates the manifests of the app directory appPath (relative to repoDir) for an
// Application named appName whose destination namespace is namespace, with plugin
// parameters as in spec.source.plugin.parameters. It fails unless the schemahook plugin
// rendered them.
func (s *Server) Render(ctx context.Context, repoDir, appPath, appName, namespace string, params ...v1alpha1.ApplicationSourcePluginParameter) ([]*unstructured.Unstructured, error) {
	src := &v1alpha1.ApplicationSource{RepoURL: "file://" + repoDir, Path: appPath}
	if len(params) > 0 {
		src.Plugin = &v1alpha1.ApplicationSourcePlugin{Parameters: params}
	}
	objs, sourceType, err := s.RenderSource(ctx, repoDir, appName, namespace, src)
	if err != nil {
		return nil, err
	}
	if sourceType != v1alpha1.ApplicationSourceTypePlugin {
		return nil, fmt.Errorf("%s: the repo-server chose source type %q, not the plugin", appPath, sourceType)
	}
	return objs, nil
}

// RenderApplication renders an Application's source from the checkout repoDir, as the
// application controller asks the repo-server to, and says which source type rendered it.
func (s *Server) RenderApplication(ctx context.Context, repoDir string, app *v1alpha1.Application) ([]*unstructured.Unstructured, v1alpha1.ApplicationSourceType, error) {
	if app.Spec.Source == nil {
		return nil, "", fmt.Errorf("application %s: no spec.source", app.Name)
	}
	return s.RenderSource(ctx, repoDir, app.Name, app.Spec.Destination.Namespace, app.Spec.Source.DeepCopy())
}

// RenderSource runs the repo-server's manifest generation (repository.GenerateManifests) for
// one Application source: discovery, environment, parameters, resource tracking and the CMP
// stream are Argo CD's own code.
func (s *Server) RenderSource(ctx context.Context, repoDir, appName, namespace string, src *v1alpha1.ApplicationSource) ([]*unstructured.Unstructured, v1alpha1.ApplicationSourceType, error) {
	repoDir, err := filepath.Abs(repoDir)
	if err != nil {
		return nil, "", fmt.Errorf("repository path: %w", err)
	}
	revision, err := gitRevision(repoDir)
	if err != nil {
		return nil, "", err
	}
	q := &repoapiclient.ManifestRequest{
		Repo:              &v1alpha1.Repository{Repo: src.RepoURL},
		Revision:          revision,
		AppLabelKey:       AppLabelKey,
		AppName:           appName,
		Namespace:         namespace,
		ApplicationSource: src,
		TrackingMethod:    string(TrackingMethod),
	}
	appPath := filepath.Join(repoDir, src.Path)
	// 10M is the repo-server's default --max-combined-directory-manifests-size.
	res, err := repository.GenerateManifests(ctx, appPath, repoDir, revision, q, false, nil, resource.MustParse("10M"), nil)
	if err != nil {
		return nil, "", fmt.Errorf("generate manifests for %s (%s): %w", appName, src.Path, err)
	}
	objs := make([]*unstructured.Unstructured, 0, len(res.Manifests))
	for _, m := range res.Manifests {
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON([]byte(m)); err != nil {
			return nil, "", fmt.Errorf("decode manifest of %s: %w", appName, err)
		}
		objs = append(objs, obj)
	}
	return objs, v1alpha1.ApplicationSourceType(res.SourceType), nil
}

// AppType is the repo-server's source type discovery for appPath: "Plugin" when a plugin
// server claims the directory, else "Directory" (or Helm, Kustomize).
func (s *Server) AppType(ctx context.Context, repoDir, appPath string) (string, error) {
	repoDir, err := filepath.Abs(repoDir)
	if err != nil {
		return "", fmt.Errorf("repository path: %w", err)
	}
	t, err := discovery.AppType(ctx, filepath.Join(repoDir, appPath), repoDir, nil, nil, os.Environ())
	if err != nil {
		return "", fmt.Errorf("discover %s: %w", appPath, err)
	}
	return t, nil
}

// gitRevision is the checked-out commit, which the repo-server passes as ARGOCD_APP_REVISION;
// empty when repoDir is not a Git work tree.
func gitRevision(repoDir string) (string, error) {
	if _, err := os.Stat(filepath.Join(repoDir, ".git")); err != nil {
		return "", nil
	}
	out, err := exec.Command("git", "-C", repoDir, "rev-parse", "HEAD").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git rev-parse HEAD in %s: %v: %s", repoDir, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// setenv sets the variables and returns a function putting the old values back.
func setenv(vars map[string]string) func() {
	old := map[string]*string{}
	for k, v := range vars {
		if prev, ok := os.LookupEnv(k); ok {
			old[k] = &prev
		} else {
			old[k] = nil
		}
		os.Setenv(k, v)
	}
	return func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
}

func init() {
	// Argo CD logs every plugin call at info level; the tests report what matters.
	log.SetLevel(log.WarnLevel)
}
