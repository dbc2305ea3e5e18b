package engine

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtls"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConnectTLS: against a server that accepts TCP only over TLS, the sslmodes that
// encrypt connect, the CA given in the URL or in PGSSLROOTCERT is the one checked, and a
// wrong or missing CA fails at once (no retry) with a message naming the setting, never the
// password.
func TestConnectTLS(t *testing.T) {
	srv := pgtls.Start(t)
	db := srv.Database(t)
	q := func(s string) string { return url.QueryEscape(s) }
	missing := filepath.Join(t.TempDir(), "no-such-ca.crt")
	for _, tc := range []struct {
		name     string
		query    string
		env      string           // PGSSLROOTCERT
		code     failure.ExitCode // 0: connects
		rule     string
		contains string
	}{
		{"verify-full with the CA in the URL", "sslmode=verify-full&sslrootcert=" + q(srv.CAFile), "", 0, "", ""},
		{"verify-full with the CA in PGSSLROOTCERT", "sslmode=verify-full", srv.CAFile, 0, "", ""},
		{"verify-ca", "sslmode=verify-ca&sslrootcert=" + q(srv.CAFile), "", 0, "", ""},
		{"require encrypts without checking", "sslmode=require", "", 0, "", ""},
		{"prefer (the default) takes TLS when offered", "", "", 0, "", ""},
		{"wrong CA in the URL", "sslmode=verify-full&sslrootcert=" + q(srv.WrongCAFile), "", failure.ExitConnect, "tls",
			"TLS: the server's certificate is not signed by the CA in sslrootcert=" + srv.WrongCAFile + " (from the URL)"},
		{"wrong CA in PGSSLROOTCERT", "sslmode=verify-full", srv.WrongCAFile, failure.ExitConnect, "tls",
			"not signed by the CA in sslrootcert=" + srv.WrongCAFile + " (from PGSSLROOTCERT)"},
		{"verify-ca checks the CA too", "sslmode=verify-ca&sslrootcert=" + q(srv.WrongCAFile), "", failure.ExitConnect, "tls",
			"not signed by the CA in sslrootcert=" + srv.WrongCAFile},
		{"no CA given: the system's CAs do not know it", "sslmode=verify-full", "", failure.ExitConnect, "tls",
			"not signed by a CA this system trusts (it is issued by \"CN=schemahook test CA\")"},
		{"TLS refused by sslmode=disable", "sslmode=disable", "", failure.ExitConnect, "tls", "the server takes no connection without TLS from here; if pg_hba.conf has hostssl lines"},
		{"CA file not mounted", "sslmode=verify-full&sslrootcert=" + q(missing), "", failure.ExitUsage, "tls",
			"TLS: cannot use the CA file sslrootcert=" + missing + " (from the URL): no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PGSSLROOTCERT", tc.env)
			if tc.env == "" {
				os.Unsetenv("PGSSLROOTCERT")
			}
			var logs []string
			// An hour to retry in: a permanent error must not wait for it.
			conn, err := Connect(context.Background(), srv.URL(db, tc.query), ConnectOptions{Timeout: time.Hour, Log: func(s string) { logs = append(logs, s) }})
			if tc.code == 0 {
				require.NoError(t, err)
				defer conn.Close(context.Background())
				var ssl bool
				require.NoError(t, conn.QueryRow(context.Background(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl))
				assert.True(t, ssl, "the session is encrypted")
				return
			}
			var e *failure.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, tc.code, e.Exit)
			assert.Equal(t, tc.rule, e.Rule)
			assert.Contains(t, e.Error(), tc.contains)
			assert.NotContains(t, e.Error(), pgtls.Password)
			assert.Empty(t, logs, "no retries")
		})
	}
}

func TestTLSProblemMessages(t *testing.T) {
	cert := &x509.Certificate{DNSNames: []string{"db.internal"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.5")}}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"host not in the certificate", x509.HostnameError{Certificate: cert, Host: "127.0.0.1"},
			`TLS: the server's certificate is for db.internal, 10.0.0.5, not for the host "127.0.0.1" of the URL`},
		{"expired", x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired, Detail: "current time is after"},
			"TLS: the server's certificate is not valid: x509: certificate has expired or is not yet valid"},
		{"ssl off on the server", errors.New("failed to connect: server refused TLS connection"),
			"TLS: the server does not accept TLS connections (ssl = off), but sslmode=verify-full requires TLS"},
		{"not TLS at all", errors.New("dial tcp: connection refused"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tlsProblem(tc.err, "postgres://u@h/db?sslmode=verify-full")
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tc.want)
		})
	}
}

func TestLibpqEnv(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	require.NoError(t, os.WriteFile(bundle, []byte("x"), 0o644))
	t.Setenv("SSL_CERT_FILE", bundle)
	t.Setenv("PGSSLROOTCERT", "")
	t.Setenv("PGSSLMODE", "")
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"postgres://u@h/db?sslmode=verify-full", []string{"PGSSLROOTCERT=" + bundle}},
		{"host=h sslmode=verify-ca", []string{"PGSSLROOTCERT=" + bundle}},
		{"postgres://u@h/db?sslmode=verify-full&sslrootcert=/etc/ca/ca.crt", nil}, // libpq reads it from the URL
		{"postgres://u@h/db?sslmode=require", nil},
		{"postgres://u@h/db", nil},
	} {
		assert.Equal(t, tc.want, LibpqEnv(tc.url), tc.url)
	}
}
