package plugin

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"github.com/schemahook/schemahook/render"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxSealValueSize caps the value sealed: a database URL, not a file.
const MaxSealValueSize = 64 << 10

// SealRequest is what `schemahook seal` seals: one key of one Secret, bound to its name and
// namespace (the sealed-secrets "strict" scope), so the ciphertext cannot be replayed as
// another Secret or in another namespace.
type SealRequest struct {
	CertPEM   []byte // the controller's certificate (`kubeseal --fetch-cert`)
	Name      string
	Namespace string
	Key       string
	Value     []byte
	Now       time.Time // for the certificate's validity; the caller's clock
}

// Seal encrypts the value with the sealed-secrets controller's public key and writes the
// SealedSecret as YAML. The value itself is never written or put in an error.
func Seal(w io.Writer, req SealRequest) error {
	if msgs := validation.IsDNS1123Subdomain(req.Name); len(msgs) > 0 {
		return fmt.Errorf("--name %q: %s", req.Name, strings.Join(msgs, "; "))
	}
	if msgs := validation.IsDNS1123Label(req.Namespace); len(msgs) > 0 {
		return fmt.Errorf("--namespace %q: %s", req.Namespace, strings.Join(msgs, "; "))
	}
	if msgs := validation.IsConfigMapKey(req.Key); len(msgs) > 0 {
		return fmt.Errorf("--key %q: %s", req.Key, strings.Join(msgs, "; "))
	}
	if len(req.Value) == 0 {
		return errors.New("no value on stdin: pipe the secret value in, e.g. `printf %s \"$URL\" | schemahook seal ...`")
	}
	if len(req.Value) > MaxSealValueSize {
		return fmt.Errorf("value on stdin is over the %d byte limit", MaxSealValueSize)
	}
	pub, err := parseCert(req.CertPEM, req.Now)
	if err != nil {
		return err
	}
	// What sealed-secrets' NewSealedSecret builds for an Opaque Secret of one key in the
	// strict scope: RSA-OAEP bound to "namespace/name", so the ciphertext opens only as
	// this Secret.
	ciphertext, err := crypto.HybridEncrypt(rand.Reader, pub, req.Value, []byte(req.Namespace+"/"+req.Name))
	if err != nil {
		return fmt.Errorf("seal %s/%s: %w", req.Namespace, req.Name, err)
	}
	meta := metav1.ObjectMeta{Name: req.Name, Namespace: req.Namespace}
	ss := sealedSecret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret"},
		ObjectMeta: meta,
		Spec: sealedSecretSpec{
			Template:      secretTemplateSpec{ObjectMeta: meta, Type: corev1.SecretTypeOpaque},
			EncryptedData: sealedEncryptedData{req.Key: base64.StdEncoding.EncodeToString(ciphertext)},
		},
	}
	obj, err := render.ToObject(ss)
	if err != nil {
		return err
	}
	return render.Encode(w, []render.Object{obj})
}

// parseCert reads the first certificate (or RSA public key) of a PEM file.
func parseCert(data []byte, now time.Time) (*rsa.PublicKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("--cert: no PEM certificate found (fetch it with `kubeseal --fetch-cert`)")
		}
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("--cert: %w", err)
			}
			if now.After(cert.NotAfter) {
				return nil, fmt.Errorf("--cert: certificate expired on %s: fetch the controller's current one", cert.NotAfter.Format(time.DateOnly))
			}
			pub, ok := cert.PublicKey.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("--cert: want an RSA key, found %T", cert.PublicKey)
			}
			return pub, nil
		case "PUBLIC KEY":
			key, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("--cert: %w", err)
			}
			pub, ok := key.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("--cert: want an RSA key, found %T", key)
			}
			return pub, nil
		}
	}
}
