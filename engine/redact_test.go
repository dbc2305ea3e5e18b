package engine

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://app:s3cret@db:5432/orders?sslmode=require", "postgres://app:xxxxx@db:5432/orders?sslmode=require"},
		{"postgresql://app:p%40ss@db/orders", "postgresql://app:xxxxx@db/orders"},
		{"postgres://app@db/orders?password=s3cret&sslmode=disable", "postgres://app@db/orders?password=xxxxx&sslmode=disable"},
		{"postgres://db/orders?sslpassword=k3y", "postgres://db/orders?sslpassword=xxxxx"},
		{"host=db user=app password=s3cret dbname=orders", "host=db user=app password=xxxxx dbname=orders"},
		{"host=db password='se cret' dbname=x", "host=db password=xxxxx dbname=x"},
		{"postgres://app@db/orders", "postgres://app@db/orders"},
		{"postgres://app:pa:ss@db/orders", "postgres://app:xxxxx@db/orders"},
		{"no url here", "no url here"},
		{"host=db PassWord = s3cret", "host=db PassWord = xxxxx"},
	} {
		assert.Equal(t, tc.want, Redact(tc.in), tc.in)
	}
}

func TestRedactText(t *testing.T) {
	u := "postgres://app:hunter22@db/orders"
	msg := RedactText(errors.New(`failed: password hunter22 rejected for postgres://app:hunter22@db/orders`).Error(), u)
	assert.NotContains(t, msg, "hunter22")
	assert.Contains(t, msg, "postgres://app:xxxxx@db/orders")
}

// FuzzRedact: whatever the URL, a password put into it never survives Redact.
func FuzzRedact(f *testing.F) {
	f.Add("app", "s3cret", "db:5432/orders?sslmode=require")
	f.Add("u", "p@ss:w/rd", "h/x")
	f.Fuzz(func(t *testing.T, user, pw, rest string) {
		if len(pw) < 4 || strings.ContainsAny(pw, "@&'\\x") || strings.ContainsFunc(pw, unicode.IsSpace) || strings.ContainsAny(user, ":@/?# \t\n") || strings.Contains(rest, "@") || strings.Contains(user+pw+rest, "\x00") {
			t.Skip()
		}
		for _, tmpl := range []string{
			"postgres://" + user + ":\x00@" + rest,
			"postgres://" + user + "@" + rest + "?password=\x00",
			"host=h user=" + user + " password=\x00 dbname=x",
		} {
			u := strings.Replace(tmpl, "\x00", pw, 1)
			// The password's characters may also occur elsewhere; only extra copies are leaks.
			allowed := strings.Count(strings.Replace(tmpl, "\x00", "xxxxx", 1), pw)
			if got := Redact(u); strings.Count(got, pw) > allowed {
				t.Fatalf("Redact(%q) = %q keeps the password", u, got)
			}
		}
	})
}
