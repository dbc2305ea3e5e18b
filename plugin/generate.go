package plugin

import (
	"io"
	"path"
	"strings"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/internal/version"
	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/render"
)

// Input limits: generate runs inside the repo-server on whatever a repository holds, so
// every read is capped. A migration file must fit one ConfigMap shard.
const (
	MaxMigrationFileSize = render.ShardBudget             // per migration file
	MaxMigrationsSize    = migrations.DefaultMaxTotalSize // whole migrations directory
	MaxMigrationFiles    = migrations.DefaultMaxFiles
	MaxManifestFileSize  = 1 << 20 // per passed-through manifest file
	MaxManifestsSize     = 8 << 20 // all manifest files together
	MaxManifestFiles     = 200
)

// Generate is the CMP generate command: it renders appDir (the directory Argo CD runs the
// plugin in) with env and writes the YAML stream to w. It reads nothing outside the
// repository root and touches no database, network or cluster.
func Generate(w io.Writer, appDir string, env Env) error {
	render.Prepare()
	in, err := load(appDir, env)
	if err != nil {
		return err
	}
	objs, err := render.Render(in)
	if err != nil {
		return err
	}
	return render.Encode(w, objs)
}

// Announce returns the dynamic parameter announcement: every parameter with the value it
// takes for appDir (from schemahook.yaml and the current parameters) as its default.
func Announce(appDir string, env Env) ([]byte, error) {
	a, err := open(appDir, env)
	if err != nil {
		return nil, err
	}
	defer a.root.Close()
	// Announce even when the config is incomplete, so the UI can show what to fill in.
	cfg, _, err := effectiveConfig(a, env, false)
	if err != nil {
		return nil, err
	}
	return marshalAnnouncements(announce(cfg))
}

// load reads and checks everything render needs from the app directory.
func load(appDir string, env Env) (render.Input, error) {
	a, err := open(appDir, env)
	if err != nil {
		return render.Input{}, err
	}
	defer a.root.Close()
	cfg, name, err := effectiveConfig(a, env, true)
	if err != nil {
		return render.Input{}, err
	}
	migDir := path.Clean(cfg.Spec.Migrations.Dir)
	files, dir, err := readMigrations(a, migDir, migrations.Format(cfg.Spec.Migrations.Format))
	if err != nil {
		return render.Input{}, err
	}
	manifests, err := readManifests(a, migDir)
	if err != nil {
		return render.Input{}, err
	}
	schemaSQL, err := readSchema(a, dir)
	if err != nil {
		return render.Input{}, err
	}
	// The Job reads the directory in the format detected here, so it cannot detect another.
	cfg.Spec.Migrations.Format = string(dir.Format)
	image := cfg.Spec.Image
	if image == "" {
		image = version.Image()
	}
	partOf := env.AppName
	if partOf == "" {
		partOf = name
	}
	source := a.display(config.FileName)
	if strings.TrimSpace(env.Parameters) != "" {
		source += " with ARGOCD_APP_PARAMETERS"
	}
	return render.Input{
		ConfigSource: source,
		Name:         name,
		PartOf:       partOf,
		Revision:     env.Revision,
		Image:        image,
		Config:       cfg,
		Files:        files,
		Manifests:    manifests,
		Schema:       schemaSQL,
	}, nil
}
