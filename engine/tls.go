package engine

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// sslSettings are the TLS settings of a connection string as libpq and pgx read them: the
// string's own, else the PGSSL* environment.
type sslSettings struct {
	mode     string // "" means libpq's default, prefer
	rootCert string // "" means none given
	from     string // where rootCert came from, for messages
}

func tlsSettings(dbURL string) sslSettings {
	kv := connParams(dbURL)
	s := sslSettings{mode: kv["sslmode"], rootCert: kv["sslrootcert"], from: "the URL"}
	if s.mode == "" {
		s.mode = os.Getenv("PGSSLMODE")
	}
	if s.rootCert == "" {
		s.rootCert, s.from = os.Getenv("PGSSLROOTCERT"), "PGSSLROOTCERT"
	}
	return s
}

// connParams reads the settings of a postgres:// URL's query or of a keyword/value string.
// It only needs the ssl* ones, which never hold quotes or spaces in practice.
func connParams(dbURL string) map[string]string {
	out := map[string]string{}
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		if u, err := url.Parse(dbURL); err == nil {
			for k, v := range u.Query() {
				out[k] = v[len(v)-1]
			}
		}
		return out
	}
	for _, f := range strings.Fields(dbURL) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[strings.TrimSpace(k)] = strings.Trim(v, "'")
		}
	}
	return out
}

// tlsProblem explains a failed connection that TLS caused, in terms of the URL's settings
// (sslmode, sslrootcert), or returns "". Such errors are permanent: retrying cannot make a
// certificate valid, so Connect fails at once instead of waiting out its timeout.
func tlsProblem(err error, dbURL string) string {
	s := tlsSettings(dbURL)
	var unknownCA x509.UnknownAuthorityError
	var wrongHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &unknownCA):
		issuer := ""
		if unknownCA.Cert != nil {
			issuer = fmt.Sprintf(" (it is issued by %q)", unknownCA.Cert.Issuer.String())
		}
		if s.rootCert == "" || s.rootCert == "system" {
			return "TLS: the server's certificate is not signed by a CA this system trusts" + issuer +
				": give your server's CA as a file mounted into the Job, with sslrootcert=/path/ca.crt in the URL or the PGSSLROOTCERT env"
		}
		return fmt.Sprintf("TLS: the server's certificate is not signed by the CA in sslrootcert=%s (from %s)%s: give the CA that signed the server's certificate",
			s.rootCert, s.from, issuer)
	case errors.As(err, &wrongHost):
		var names []string
		if c := wrongHost.Certificate; c != nil {
			names = append(names, c.DNSNames...)
			for _, ip := range c.IPAddresses {
				names = append(names, ip.String())
			}
		}
		return fmt.Sprintf("TLS: the server's certificate is for %s, not for the host %q of the URL: sslmode=verify-full checks the host name; connect by a name the certificate holds, or use sslmode=verify-ca (the CA only)",
			orNone(names), wrongHost.Host)
	case errors.As(err, &invalid):
		return "TLS: the server's certificate is not valid: " + invalid.Error()
	case errors.As(err, &verify):
		return "TLS: verifying the server's certificate failed: " + verify.Err.Error()
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return fmt.Sprintf("TLS: the server does not accept TLS connections (ssl = off), but sslmode=%s requires TLS", s.mode)
	case errors.As(err, &pe) && pe.Code == "28000" && strings.Contains(pe.Message, "no encryption"):
		return pe.Message + ": the server takes no connection without TLS from here; if pg_hba.conf has hostssl lines for it, set sslmode=verify-full and sslrootcert= in the URL"
	}
	return ""
}

// tlsConfigProblem explains a connection string whose TLS files cannot be used (pgx reads
// them while parsing), or returns "".
func tlsConfigProblem(err error, dbURL string) string {
	msg := err.Error()
	s := tlsSettings(dbURL)
	switch {
	case strings.Contains(msg, "unable to read CA file"), strings.Contains(msg, "unable to add CA to cert pool"):
		why := "it holds no PEM certificate"
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			why = pathErr.Err.Error()
		}
		return fmt.Sprintf("TLS: cannot use the CA file sslrootcert=%s (from %s): %s; mount it into the hook Job (spec.job.volumes and volumeMounts) at that path",
			s.rootCert, s.from, why)
	case strings.Contains(msg, "sslkey"), strings.Contains(msg, "unable to read cert"), strings.Contains(msg, "unable to load cert"),
		strings.Contains(msg, "decrypt key"), strings.Contains(msg, "sslmode is invalid"):
		_, detail, _ := strings.Cut(msg, "failed to configure TLS")
		return "TLS: " + strings.Trim(detail, " ()")
	}
	return ""
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "no host name"
	}
	return strings.Join(names, ", ")
}

// systemCABundles are where Go's crypto/x509 (and OpenSSL) find the system's trusted CAs on
// Linux distributions.
var systemCABundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Alpine
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // RHEL 7+
}

// LibpqEnv is the environment to add for a libpq tool (pg_dump, psql) connecting to dbURL,
// so it checks the server like pgx does. libpq reads sslmode and sslrootcert from the URL
// and PGSSL* from the environment, as pgx does, with one difference: with sslmode=verify-ca
// or verify-full and no sslrootcert, pgx trusts the system's CAs while libpq wants
// ~/.postgresql/root.crt. Then the tool is given the system bundle.
func LibpqEnv(dbURL string) []string {
	s := tlsSettings(dbURL)
	if s.rootCert != "" || (s.mode != "verify-ca" && s.mode != "verify-full") {
		return nil
	}
	bundles := systemCABundles
	if f := os.Getenv("SSL_CERT_FILE"); f != "" { // Go honours it too
		bundles = []string{f}
	}
	for _, f := range bundles {
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			return []string{"PGSSLROOTCERT=" + f}
		}
	}
	return nil
}
