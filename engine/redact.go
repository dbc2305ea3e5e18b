package engine

import (
	"regexp"
	"strings"
	"sync"
)

var (
	// userinfo password in a URL: scheme://user:PASSWORD@host
	urlPassword = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(://[^:@/?#\n]*):[^@\n]*@`) })
	// password=... as a URL query parameter or a keyword/value setting, quoted or not
	kvPassword = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b((?:ssl)?password)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)`)
	})
)

// Redact hides every password in a database URL or keyword/value connection string, so it
// can be printed. Use it everywhere a URL might reach a log, an error or a report.
func Redact(s string) string {
	// Only a text with "://" or "pa" (in any case: p and a fold to nothing else) can match;
	// a run's progress lines mostly have neither, and skip the regular expressions.
	if strings.Contains(s, "://") {
		s = urlPassword().ReplaceAllString(s, "$1:xxxxx@")
	}
	if hasPA(s) {
		s = kvPassword().ReplaceAllString(s, "${1}${2}xxxxx")
	}
	return s
}

// hasPA reports whether s holds "pa" in any case, which every match of kvPassword does.
func hasPA(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i]|0x20 == 'p' && s[i+1]|0x20 == 'a' {
			return true
		}
	}
	return false
}

// secrets is what RedactText replaces for one URL: the URL itself and its passwords.
type secrets struct {
	url, redacted string
	passwords     []string
}

// urlSecrets remembers each URL's secrets: a run redacts every log line with the same few.
var urlSecrets sync.Map // string → secrets

func secretsOf(u string) secrets {
	if s, ok := urlSecrets.Load(u); ok {
		return s.(secrets)
	}
	s := secrets{url: u, redacted: Redact(u)}
	for _, pw := range passwords(u) {
		if len(pw) >= 3 { // shorter ones would mangle ordinary words
			s.passwords = append(s.passwords, pw)
		}
	}
	urlSecrets.Store(u, s)
	return s
}

// RedactText hides in text (an error message from a driver or tool) the URLs given and
// their passwords, wherever they appear.
func RedactText(text string, urls ...string) string {
	for _, u := range urls {
		if u == "" {
			continue
		}
		s := secretsOf(u)
		text = strings.ReplaceAll(text, s.url, s.redacted)
		for _, pw := range s.passwords {
			text = strings.ReplaceAll(text, pw, "xxxxx")
		}
	}
	return Redact(text)
}

func passwords(u string) []string {
	var out []string
	for _, m := range urlPassword().FindAllStringSubmatchIndex(u, -1) {
		full := u[m[0]:m[1]]
		if i := strings.Index(full[3:], ":"); i >= 0 {
			out = append(out, strings.TrimSuffix(full[3+i+1:], "@"))
		}
	}
	for _, m := range kvPassword().FindAllStringSubmatch(u, -1) {
		out = append(out, strings.Trim(m[3], "'"))
	}
	return out
}
