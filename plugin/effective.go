package plugin

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/render"
	"k8s.io/apimachinery/pkg/util/validation"
)

// effectiveConfig is defaults < schemahook.yaml < parameters, validated, and the name the
// objects take: the name parameter or metadata.name, else the Application's, else the dir's.
func effectiveConfig(a *app, env Env, validate bool) (*config.Database, string, error) {
	cfg := config.Default()
	where := a.display(config.FileName)
	data, err := readCapped(a, config.FileName, config.MaxSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		where = "config (defaults, no " + where + ")"
	case err != nil:
		return nil, "", err
	default:
		if cfg, err = config.Load(a.display(config.FileName), data); err != nil {
			return nil, "", fmt.Errorf("%w [config]", err)
		}
	}
	ps, err := ParseParameters(env.Parameters)
	if err != nil {
		return nil, "", err
	}
	if err := ApplyParameters(cfg, ps); err != nil {
		return nil, "", err
	}
	name := cfg.Metadata.Name
	if name == "" {
		name = sanitizeName(env.AppName)
	}
	if name == "" {
		name = sanitizeName(a.absName)
	}
	if name == "" {
		name = "schemahook"
	}
	if cfg.Metadata.Name == "" {
		cfg.Metadata.Name = name
	}
	if !validate {
		return cfg, name, nil
	}
	if err := cfg.Validate(); err != nil {
		if len(ps) > 0 {
			where += " with ARGOCD_APP_PARAMETERS"
		}
		return nil, "", fmt.Errorf("%s: %w [config]", where, err)
	}
	return cfg, name, nil
}

// sanitizeName turns an Application or directory name into a DNS-1123 label.
func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	for strings.Contains(n, "--") {
		n = strings.ReplaceAll(n, "--", "-")
	}
	if len(n) > validation.DNS1123LabelMaxLength {
		n = strings.Trim(render.LabelValue(n), "-")
	}
	return n
}
