package engine

import (
	"regexp"
	"strings"
)

var (
	// userinfo password in a URL: scheme://user:PASSWORD@host
	urlPassword = regexp.MustCompile(`(://[^:@/?#\n]*):[^@\n]*@`)
	// password=... as a URL query parameter or a keyword/value setting, quoted or not
	kvPassword = regexp.MustCompile(`(?i)\b((?:ssl)?password)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)`)
)

// Redact hides every password in a database URL or keyword/value connection string, so it
// can be printed. Use it everywhere a URL might reach a log, an error or a report.
func Redact(s string) string {
	s = urlPassword.ReplaceAllString(s, "$1:xxxxx@")
	return kvPassword.ReplaceAllString(s, "${1}${2}xxxxx")
}

// RedactText hides in text (an error message from a driver or tool) the URLs given and
// their passwords, wherever they appear.
func RedactText(text string, urls ...string) string {
	for _, u := range urls {
		if u == "" {
			continue
		}
		text = strings.ReplaceAll(text, u, Redact(u))
		for _, pw := range passwords(u) {
			if len(pw) >= 3 { // shorter ones would mangle ordinary words
				text = strings.ReplaceAll(text, pw, "xxxxx")
			}
		}
	}
	return Redact(text)
}

func passwords(u string) []string {
	var out []string
	for _, m := range urlPassword.FindAllStringSubmatchIndex(u, -1) {
		full := u[m[0]:m[1]]
		if i := strings.Index(full[3:], ":"); i >= 0 {
			out = append(out, strings.TrimSuffix(full[3+i+1:], "@"))
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(u, -1) {
		out = append(out, strings.Trim(m[3], "'"))
	}
	return out
}
