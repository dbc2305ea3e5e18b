package stories

import (
	"bytes"
	"context"
	"crypto/rsa"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"github.com/schemahook/schemahook/e2e/controlplane"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// The CustomResourceDefinition shipped with sealed-secrets v0.27.1 (helm/sealed-secrets/crds).
//
//go:embed testdata/bitnami.com_sealedsecrets.yaml
var sealedSecretCRD []byte

var sealedSecretsGVR = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}

// installSealedSecretCRD creates the CRD and waits until the API serves it.
func installSealedSecretCRD(ctx context.Context, cfg *rest.Config) error {
	var crd apiextv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(sealedSecretCRD, &crd); err != nil {
		return fmt.Errorf("decode SealedSecret CRD: %w", err)
	}
	client, err := apiextclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("apiextensions client: %w", err)
	}
	if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, &crd, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create SealedSecret CRD: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := dyn.Resource(sealedSecretsGVR).List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("SealedSecret CRD not served after 30s: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sealURL seals a database URL with `schemahook seal` and the controller's certificate, as a
// team does before committing it: a strict-scope SealedSecret for name in namespace ns.
func sealURL(binary, certPath, ns, name, url string) ([]byte, error) {
	cmd := exec.Command(binary, "seal", "--cert", certPath, "--name", name, "--namespace", ns, "--key", "url")
	cmd.Stdin = strings.NewReader(url + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("schemahook seal: %w: %s", err, stderr.String())
	}
	return out, nil
}

// newSealingKey makes a key pair and certificate as the sealed-secrets controller does at
// start-up, and writes the certificate where `kubeseal --fetch-cert` would put it.
func newSealingKey(certPath string) (*rsa.PrivateKey, error) {
	key, cert, err := sscrypto.GeneratePrivateKeyAndCert(2048, time.Hour, "sealed-secret")
	if err != nil {
		return nil, fmt.Errorf("generate sealing key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("write sealing certificate: %w", err)
	}
	return key, nil
}

// unsealer is the part of the sealed-secrets controller the stories need: for every
// SealedSecret it decrypts the Secret with the private key (SealedSecret.Unseal, the
// controller's own code), creates or updates it under the controller's ownership rules,
// and reports the Synced condition Argo CD's health check reads.
type unsealer struct {
	dyn    dynamic.Interface
	client kubernetes.Interface
	keys   map[string]*rsa.PrivateKey
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startUnsealer(cfg *rest.Config, client kubernetes.Interface, key *rsa.PrivateKey) (*unsealer, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	fp, err := sscrypto.PublicKeyFingerprint(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key fingerprint: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &unsealer{dyn: dyn, client: client, keys: map[string]*rsa.PrivateKey{fp: key}, cancel: cancel}
	controlplane.Go(&u.wg, func() { u.loop(ctx) })
	return u, nil
}

func (u *unsealer) stop() {
	u.cancel()
	u.wg.Wait()
}

func (u *unsealer) loop(ctx context.Context) {
	res := u.dyn.Resource(sealedSecretsGVR)
	for ctx.Err() == nil {
		list, err := res.List(ctx, metav1.ListOptions{})
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		for i := range list.Items {
			u.handle(ctx, &list.Items[i])
		}
		w, err := res.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		controlplane.HandleEvents(w, func(obj *unstructured.Unstructured) { u.handle(ctx, obj) })
	}
}

func (u *unsealer) handle(ctx context.Context, obj *unstructured.Unstructured) {
	if obj.GetDeletionTimestamp() != nil {
		return
	}
	var ss ssv1alpha1.SealedSecret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &ss); err != nil {
		return
	}
	if ss.Status != nil && ss.Status.ObservedGeneration == ss.Generation && len(ss.Status.Conditions) > 0 {
		return // already handled this generation
	}
	unsealErr := u.unseal(ctx, &ss)
	status := corev1.ConditionTrue
	message := ""
	if unsealErr != nil {
		status, message = corev1.ConditionFalse, unsealErr.Error()
	}
	now := metav1.Now()
	ss.Status = &ssv1alpha1.SealedSecretStatus{ObservedGeneration: ss.Generation, Conditions: []ssv1alpha1.SealedSecretCondition{{
		Type: ssv1alpha1.SealedSecretSynced, Status: status, Message: message, LastUpdateTime: now, LastTransitionTime: now,
	}}}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&ss)
	if err != nil {
		return
	}
	_, _ = u.dyn.Resource(sealedSecretsGVR).Namespace(ss.Namespace).UpdateStatus(ctx,
		&unstructured.Unstructured{Object: content}, metav1.UpdateOptions{})
}

// unseal follows the controller's rules: create the Secret, or update it when this
// SealedSecret controls it or it is annotated as managed; refuse any other existing Secret.
func (u *unsealer) unseal(ctx context.Context, ss *ssv1alpha1.SealedSecret) error {
	ss.APIVersion, ss.Kind = "bitnami.com/v1alpha1", "SealedSecret"
	want, err := ss.Unseal(scheme.Codecs, u.keys)
	if err != nil {
		return fmt.Errorf("unseal: %w", err)
	}
	secrets := u.client.CoreV1().Secrets(ss.Namespace)
	cur, err := secrets.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if !metav1.IsControlledBy(cur, ss) && cur.Annotations[ssv1alpha1.SealedSecretManagedAnnotation] != "true" {
		return errors.New("failed update: Resource \"" + cur.Name + "\" already exists and is not managed by SealedSecret")
	}
	next := cur.DeepCopy()
	next.Data, next.Type = want.Data, want.Type
	next.Annotations, next.Labels, next.OwnerReferences = want.Annotations, want.Labels, want.OwnerReferences
	if apiequality.Semantic.DeepEqual(cur, next) {
		return nil
	}
	_, err = secrets.Update(ctx, next, metav1.UpdateOptions{})
	return err
}
