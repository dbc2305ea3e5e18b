// Package pgtls starts, for tests, a real Postgres that accepts TCP connections only over
// TLS (hostssl in pg_hba.conf), with a server certificate signed by a CA made in the test,
// so the TLS settings of a database URL (sslmode, sslrootcert, PGSSLROOTCERT) are proven
// against a real server rather than assumed.
package pgtls

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/internal/pgtest"
)

// User is the login role the server's TCP URLs use; it authenticates with Password
// (scram-sha-256), so tests can check that no password is ever printed.
const (
	User     = "tls_app"
	Password = "tls-s3cret-pw"
)

// Server is a running TLS-only Postgres for one test.
type Server struct {
	Port        int
	CAFile      string // PEM of the CA that signed the server's certificate
	WrongCAFile string // PEM of another CA, which did not
	admin       string // superuser URL over the unix socket (trust, no TLS)
}

// Start starts the server and stops it when the test ends. The server's certificate names
// localhost and 127.0.0.1; it listens on 127.0.0.1 only.
func Start(t testing.TB) *Server {
	t.Helper()
	ctx := context.Background()
	port := pgtest.FreePort(t)
	srv, err := devdb.Start(ctx, devdb.Options{Port: port})
	if err != nil {
		t.Fatalf("pgtls: starting Postgres: %v", err)
	}
	t.Cleanup(func() { srv.Stop() })
	s := &Server{Port: port, admin: fmt.Sprintf("postgres://%s@/postgres?host=%s&port=%d&sslmode=disable",
		devdb.Superuser, url.QueryEscape(srv.Dir()), port)}

	// Client side: the CA files the tests hand to the URL.
	dir := t.TempDir()
	ca, caKey := newCA(t, "schemahook test CA")
	wrong, _ := newCA(t, "some other CA")
	s.CAFile, s.WrongCAFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "wrong-ca.crt")
	writePEM(t, s.CAFile, "CERTIFICATE", ca.Raw, 0o644)
	writePEM(t, s.WrongCAFile, "CERTIFICATE", wrong.Raw, 0o644)

	// Server side: certificate and key in the server's own dir, owned by the server's user,
	// the key 0600 (Postgres refuses a key others can read).
	certDER, keyDER := newServerCert(t, ca, caKey)
	certFile, keyFile := filepath.Join(srv.Dir(), "server.crt"), filepath.Join(srv.Dir(), "server.key")
	writePEM(t, certFile, "CERTIFICATE", certDER, 0o644)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER, 0o600)
	st, err := os.Stat(srv.Dir())
	if err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	owner := st.Sys().(*syscall.Stat_t)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chown(f, int(owner.Uid), int(owner.Gid)); err != nil {
			t.Fatalf("pgtls: %v", err)
		}
	}
	hba := "local all all trust\n" +
		"hostssl all all 127.0.0.1/32 scram-sha-256\n" // no plain "host" line: TCP without TLS is refused
	if err := os.WriteFile(filepath.Join(srv.Dir(), "data", "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	s.exec(t, "ALTER SYSTEM SET ssl = on")
	s.exec(t, "ALTER SYSTEM SET ssl_cert_file = "+quote(certFile))
	s.exec(t, "ALTER SYSTEM SET ssl_key_file = "+quote(keyFile))
	s.exec(t, "CREATE ROLE "+User+" LOGIN CREATEDB PASSWORD "+quote(Password))
	s.exec(t, "SELECT pg_reload_conf()")
	s.waitTLS(t)
	return s
}

// Database creates a fresh database owned by User and returns its name.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("tls_%d", time.Now().UnixNano())
	s.exec(t, "CREATE DATABASE "+name+" OWNER "+User)
	return name
}

// URL is a TCP URL of database db as User, with its password and the given query
// (e.g. "sslmode=verify-full&sslrootcert=/path").
func (s *Server) URL(db, query string) string {
	u := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s", User, Password, s.Port, db)
	if query != "" {
		u += "?" + query
	}
	return u
}

// AdminURL is the superuser's URL over the unix socket, for setting up and inspecting.
func (s *Server) AdminURL(db string) string { return devdb.WithDatabase(s.admin, db) }

func (s *Server) exec(t testing.TB, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), s.admin)
	if err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("pgtls: %s: %v", sql, err)
	}
}

// waitTLS waits until the reloaded configuration is in force: a verify-full connection
// with the right CA succeeds.
func (s *Server) waitTLS(t testing.TB) {
	t.Helper()
	u := s.URL("postgres", "sslmode=verify-full&sslrootcert="+url.QueryEscape(s.CAFile))
	var err error
	for range 600 {
		var conn *pgx.Conn
		if conn, err = pgx.Connect(context.Background(), u); err == nil {
			conn.Close(context.Background())
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pgtls: the server did not accept TLS connections after the reload: %v", err)
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	return cert, key
}

func newServerCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certDER, keyDER []byte) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	keyDER, err = x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	return certDER, keyDER
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatalf("pgtls: %v", err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatalf("pgtls: %v", err)
	}
}

func quote(s string) string { return "'" + s + "'" }
