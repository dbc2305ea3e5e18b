// Package controlplane runs a real Kubernetes control plane for the e2e tests: Debian's etcd,
// kube-apiserver and kube-controller-manager (built from k8s.io/kubernetes by e2e/tools), all
// on free loopback ports, plus a node agent that runs pods as local processes.
package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Binaries are the programs the control plane runs.
type Binaries struct {
	Etcd              string
	APIServer         string
	ControllerManager string
}

// RequireBinaries is BinariesFromEnv for a test: without the binaries the test skips, unless
// SCHEMAHOOK_E2E_REQUIRE=1 (e2e/run.sh, CI) makes that a failure.
func RequireBinaries(t testing.TB) Binaries {
	t.Helper()
	bins, err := BinariesFromEnv()
	if err != nil {
		if os.Getenv("SCHEMAHOOK_E2E_REQUIRE") == "1" {
			t.Fatalf("e2e binaries: %v", err)
		}
		t.Skipf("e2e binaries missing (run e2e/run.sh): %v", err)
	}
	return bins
}

// BinariesFromEnv reads the binary paths e2e/run.sh exports; etcd defaults to the one on PATH.
func BinariesFromEnv() (Binaries, error) {
	b := Binaries{
		Etcd:              os.Getenv("SCHEMAHOOK_E2E_ETCD"),
		APIServer:         os.Getenv("SCHEMAHOOK_E2E_KUBE_APISERVER"),
		ControllerManager: os.Getenv("SCHEMAHOOK_E2E_KUBE_CONTROLLER_MANAGER"),
	}
	if b.Etcd == "" {
		if p, err := exec.LookPath("etcd"); err == nil {
			b.Etcd = p
		}
	}
	var missing []error
	for name, path := range map[string]string{"etcd (SCHEMAHOOK_E2E_ETCD or PATH)": b.Etcd,
		"SCHEMAHOOK_E2E_KUBE_APISERVER": b.APIServer, "SCHEMAHOOK_E2E_KUBE_CONTROLLER_MANAGER": b.ControllerManager} {
		if path == "" {
			missing = append(missing, fmt.Errorf("%s not set", name))
			continue
		}
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, fmt.Errorf("%s: %w", name, err))
		}
	}
	return b, errors.Join(missing...)
}

// ControlPlane is a running etcd + kube-apiserver + kube-controller-manager.
type ControlPlane struct {
	// Config reaches the API server as a member of system:masters.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// Kubeconfig is a file holding the same credentials, for programs that want one.
	Kubeconfig string

	dir   string
	procs []*process
}

// Start starts the three components in dir (which it owns until Stop) and waits until the
// API server is ready and the controllers are running. On error everything started is stopped.
func Start(ctx context.Context, dir string, bins Binaries) (_ *ControlPlane, err error) {
	cp := &ControlPlane{dir: dir}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	etcdURL, err := cp.startEtcd(bins.Etcd)
	if err != nil {
		return nil, err
	}
	if err := cp.startAPIServer(ctx, bins.APIServer, etcdURL); err != nil {
		return nil, err
	}
	if err := cp.startControllerManager(bins.ControllerManager); err != nil {
		return nil, err
	}
	return cp, nil
}

// Stop stops every component, newest first, and waits for each to exit.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop(syscall.SIGTERM, 10*time.Second)
	}
	cp.procs = nil
}

// Logs names the log files of the components, for failure reports.
func (cp *ControlPlane) Logs() []string {
	var logs []string
	for _, p := range cp.procs {
		logs = append(logs, p.logPath)
	}
	return logs
}

func (cp *ControlPlane) startEtcd(bin string) (string, error) {
	clientPort, err := freePort()
	if err != nil {
		return "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return "", err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	p, err := startProcess(cp.dir, "etcd", bin, []string{
		"--name=e2e",
		"--data-dir=" + filepath.Join(cp.dir, "etcd-data"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=e2e=" + peerURL,
	}, nil)
	if err != nil {
		return "", err
	}
	cp.procs = append(cp.procs, p)
	err = waitFor(p, 30*time.Second, func() error {
		resp, err := http.Get(clientURL + "/health")
		return statusOK("health", resp, err)
	})
	if err != nil {
		return "", fmt.Errorf("start etcd: %w", err)
	}
	return clientURL, nil
}

func (cp *ControlPlane) startAPIServer(ctx context.Context, bin, etcdURL string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	token, err := randomHex(16)
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(cp.dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",e2e-admin,e2e-admin,system:masters\n"), 0o600); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	saKey := filepath.Join(cp.dir, "sa.key")
	if err := writeRSAKey(saKey); err != nil {
		return err
	}
	certDir := filepath.Join(cp.dir, "apiserver-certs")
	p, err := startProcess(cp.dir, "kube-apiserver", bin, []string{
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + certDir,
		"--secure-port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
	}, nil)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)

	host := "https://127.0.0.1:" + strconv.Itoa(port)
	cp.Config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             100,
		Burst:           200,
	}
	httpClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed, loopback only
	}}
	err = waitFor(p, 90*time.Second, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpClient.Do(req)
		return statusOK("readyz", resp, err)
	})
	if err != nil {
		return fmt.Errorf("start kube-apiserver: %w", err)
	}
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return fmt.Errorf("client for kube-apiserver: %w", err)
	}
	cp.Client = client

	cp.Kubeconfig = filepath.Join(cp.dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: host, InsecureSkipTLSVerify: true}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	kc.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*kc, cp.Kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// startControllerManager runs the controllers the stories need: job (pods for Jobs and their
// completion), serviceaccount (each namespace's default ServiceAccount, without which no pod
// is admitted) and garbagecollector (foreground deletion, which gitops-engine uses for hooks).
func (cp *ControlPlane) startControllerManager(bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	p, err := startProcess(cp.dir, "kube-controller-manager", bin, []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--authentication-kubeconfig=" + cp.Kubeconfig,
		"--authorization-kubeconfig=" + cp.Kubeconfig,
		"--controllers=job,serviceaccount,garbagecollector",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(cp.dir, "kcm-certs"),
	}, nil)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)
	// The default ServiceAccount of kube-system appearing shows the controllers are running.
	err = waitFor(p, 60*time.Second, func() error {
		_, err := cp.Client.CoreV1().ServiceAccounts("kube-system").Get(context.Background(), "default", metav1.GetOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("start kube-controller-manager: %w", err)
	}
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service account key: %w", err)
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("write service account key: %w", err)
	}
	return nil
}

// statusOK is the answer to a readiness probe (what is the endpoint's name): nil when it
// answered 200 OK; the response's body is closed.
func statusOK(what string, resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", what, resp.Status)
	}
	return nil
}
