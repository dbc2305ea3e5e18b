package hooks

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/failure"
	"github.com/schemahook/schemahook/internal/pgtls"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestApplyOverTLS: a target that takes only TLS connections, checked with
// sslmode=verify-full against the team's CA. With the right CA (in the URL, or in
// PGSSLROOTCERT as a Job's env would set it) migrate apply runs every stage, the default
// ephemeral dev replay included, whose schema copy is pg_dump over the same TLS settings.
// Without sslrootcert, pg_dump gets the system's CA bundle, which pgx trusts by default.
// With a wrong CA the run stops when connecting (exit 6), says why, prints no password and
// leaves the target untouched.
func TestApplyOverTLS(t *testing.T) {
	srv := pgtls.Start(t)
	for _, tc := range []struct {
		name  string
		query string
		env   map[string]string
		code  failure.ExitCode
		want  string
	}{
		// First: Go reads the system's CAs (SSL_CERT_FILE) once per process.
		{"system CAs, no sslrootcert", "sslmode=verify-full", map[string]string{"SSL_CERT_FILE": srv.CAFile}, 0, ""},
		{"CA in the URL", "sslmode=verify-full&sslrootcert=" + url.QueryEscape(srv.CAFile), nil, 0, ""},
		{"CA in PGSSLROOTCERT", "sslmode=verify-full", map[string]string{"PGSSLROOTCERT": srv.CAFile}, 0, ""},
		{"wrong CA", "sslmode=verify-full&sslrootcert=" + url.QueryEscape(srv.WrongCAFile), nil, failure.ExitConnect,
			"TLS: the server's certificate is not signed by the CA in sslrootcert=" + srv.WrongCAFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PGSSLROOTCERT", "SSL_CERT_FILE", "PGSSLMODE"} {
				t.Setenv(k, tc.env[k])
				if tc.env[k] == "" {
					os.Unsetenv(k)
				}
			}
			db := srv.Database(t)
			target := srv.URL(db, tc.query)
			// The dev replay must also copy a schema that is already there.
			execSQL(t, srv.AdminURL(db), "CREATE TABLE "+"pre_existing (id int); ALTER TABLE pre_existing OWNER TO "+pgtls.User)
			tl := filepath.Join(t.TempDir(), "termination-log")
			o := Options{Dir: writeDir(t, base), URL: target, DevURL: "ephemeral", TerminationLog: tl}
			r := apply(t, o)
			report, err := json.Marshal(r.report)
			require.NoError(t, err)
			msg, err := os.ReadFile(tl)
			require.NoError(t, err)
			for _, out := range []string{r.stderr, string(report), string(msg)} {
				assert.NotContains(t, out, pgtls.Password)
			}
			if tc.code != 0 {
				require.Equal(t, tc.code, r.code, "%v\n%s", r.err, r.stderr)
				assert.Equal(t, failure.StageVerify, r.err.Stage)
				assert.Equal(t, "tls", r.err.Rule)
				assert.Contains(t, r.err.Msg, tc.want)
				assert.NotContains(t, r.err.Msg, pgtls.Password)
				assert.Zero(t, queryInt(t, srv.AdminURL(db), "SELECT count(*) FROM pg_namespace WHERE nspname = 'schemahook'"), "target untouched")
				return
			}
			require.Zero(t, r.code, "%v\n%s", r.err, r.stderr)
			assert.Equal(t, "applied", r.report.Status)
			assert.Len(t, r.report.Applied, 3)
			assert.Contains(t, r.stderr, "applied the 3 pending files to a schema-only copy of the target")
			assert.True(t, strings.Contains(r.stderr, "started an ephemeral Postgres"), r.stderr)
			assert.Equal(t, "up-to-date", apply(t, Options{Dir: o.Dir, URL: target, DevURL: "ephemeral"}).report.Status)
		})
	}
}
