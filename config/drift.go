package config

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/schemahook/schemahook/internal/enum"
	"github.com/schemahook/schemahook/lint"
)

// Drift is what the hook does when the target's schema differs from the one its migrations
// build (before apply), or from schema.sql (after apply), and whether a CronJob checks it
// between syncs.
type Drift struct {
	Policy lint.Level `json:"policy,omitempty"` // error | warn | off (default warn)
	// Schedule, a cron expression, renders a CronJob running the read-only drift check.
	Schedule string `json:"schedule,omitempty"`
}

// cronFieldRE is one field of a five-field cron expression; cronMacros are the @ forms
// Kubernetes' CronJob takes. The API server checks the expression fully; this catches a
// value that is plainly not one at render, naming the field.
var (
	cronFieldRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Za-z*/,?\-]+$`) })
	cronMacros  = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)

// validateDrift returns the errors of spec.drift.
func (s *Spec) validateDrift() []string {
	var errs []string
	if !s.Drift.Policy.Valid() {
		errs = append(errs, `spec.drift.policy: invalid value "`+string(s.Drift.Policy)+`": one of `+enum.Join(lint.Levels, ", "))
	}
	if c := s.Drift.Schedule; c != "" && !validCron(c) {
		errs = append(errs, `spec.drift.schedule: invalid value "`+c+`": want a cron expression of five fields (minute hour day-of-month month day-of-week) such as "0 * * * *", or @hourly, @daily, @weekly`)
	}
	return errs
}

func validCron(c string) bool {
	if slices.Contains(cronMacros, c) {
		return true
	}
	fields := strings.Fields(c)
	if len(fields) != 5 || strings.Join(fields, " ") != c {
		return false
	}
	for _, f := range fields {
		if !cronFieldRE().MatchString(f) {
			return false
		}
	}
	return true
}
