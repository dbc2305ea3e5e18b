package plugin

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestSealRoundTrip seals with a real controller-style key pair and decrypts with the
// sealed-secrets crypto, proving the strict scope binds name and namespace.
func TestSealRoundTrip(t *testing.T) {
	priv, cert, err := crypto.GeneratePrivateKeyAndCert(2048, time.Hour, "sealed-secrets")
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	const value = "postgres://app:s3cr3t@db.shop.svc:5432/orders"

	var out bytes.Buffer
	require.NoError(t, Seal(&out, SealRequest{CertPEM: certPEM, Name: "pg-credentials", Namespace: "shop",
		Key: "url", Value: []byte(value), Now: time.Now()}))
	assert.NotContains(t, out.String(), "s3cr3t")

	var ss ssv1alpha1.SealedSecret
	require.NoError(t, yaml.UnmarshalStrict(out.Bytes(), &ss))
	assert.Equal(t, "pg-credentials", ss.Name)
	assert.Equal(t, "shop", ss.Namespace)
	assert.NotContains(t, out.String(), "creationTimestamp")
	ct, err := base64.StdEncoding.DecodeString(ss.Spec.EncryptedData["url"])
	require.NoError(t, err)
	keys := map[string]*rsa.PrivateKey{"k": priv}
	plain, err := crypto.HybridDecrypt(rand.Reader, keys, ct, ssv1alpha1.EncryptionLabel("shop", "pg-credentials", ssv1alpha1.StrictScope))
	require.NoError(t, err)
	assert.Equal(t, value, string(plain))
	_, err = crypto.HybridDecrypt(rand.Reader, keys, ct, ssv1alpha1.EncryptionLabel("other", "pg-credentials", ssv1alpha1.StrictScope))
	assert.Error(t, err, "bound to the namespace")

	// The generate side accepts what seal produces.
	ms, err := parseManifests("pg.sealed.yaml", out.Bytes())
	require.NoError(t, err)
	require.Len(t, ms, 1)
}

func TestSealRefusals(t *testing.T) {
	_, cert, err := crypto.GeneratePrivateKeyAndCert(2048, time.Hour, "x")
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	pubDER, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	ok := SealRequest{CertPEM: certPEM, Name: "pg", Namespace: "shop", Key: "url", Value: []byte("v"), Now: time.Now()}
	cases := []struct {
		name    string
		mutate  func(*SealRequest)
		wantErr string
	}{
		{"ok", func(*SealRequest) {}, ""},
		{"public key PEM", func(r *SealRequest) { r.CertPEM = pubPEM }, ""},
		{"bad name", func(r *SealRequest) { r.Name = "PG Creds" }, `--name "PG Creds"`},
		{"bad namespace", func(r *SealRequest) { r.Namespace = "" }, `--namespace ""`},
		{"bad key", func(r *SealRequest) { r.Key = "a/b" }, `--key "a/b"`},
		{"empty value", func(r *SealRequest) { r.Value = nil }, "no value on stdin"},
		{"big value", func(r *SealRequest) { r.Value = bytes.Repeat([]byte("x"), MaxSealValueSize+1) }, "byte limit"},
		{"no PEM", func(r *SealRequest) { r.CertPEM = []byte("not a cert") }, "no PEM certificate"},
		{"expired", func(r *SealRequest) { r.Now = time.Now().Add(48 * time.Hour) }, "certificate expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.mutate(&r)
			var out bytes.Buffer
			err := Seal(&out, r)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(out.String(), "apiVersion: bitnami.com/v1alpha1\n"))
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Empty(t, out.String())
		})
	}
}

// TestSealedSecretMirrorsUpstream: the local sealedSecret has the JSON shape of
// sealed-secrets' own type (names, options, types of every field), so that strict decoding
// refuses and accepts what upstream's would, and seal writes what kubeseal would.
func TestSealedSecretMirrorsUpstream(t *testing.T) {
	assert.Equal(t, jsonShape(reflect.TypeFor[ssv1alpha1.SealedSecret]()), jsonShape(reflect.TypeFor[sealedSecret]()))
}

// jsonShape lists a type's JSON fields, path → Go type; the types of this package and of
// sealed-secrets are described by their kind and fields, everything else by its name.
func jsonShape(t reflect.Type) map[string]string {
	out := map[string]string{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		if t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
			out[path] = t.Kind().String()
			walk(t.Elem(), path+"[]")
			return
		}
		own := t.PkgPath() == reflect.TypeFor[sealedSecret]().PkgPath() || strings.Contains(t.PkgPath(), "sealed-secrets")
		if !own {
			out[path] = t.String()
			return
		}
		desc := t.Kind().String()
		if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
			desc += " with UnmarshalJSON"
		}
		out[path] = desc
		switch t.Kind() {
		case reflect.Map:
			walk(t.Elem(), path+"[]")
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				name, _, _ := strings.Cut(tag, ",")
				if name == "" && f.Anonymous {
					walk(f.Type, path+".<inline "+tag+">")
					continue
				}
				walk(f.Type, path+"."+tag)
			}
		}
	}
	walk(t, "")
	return out
}
