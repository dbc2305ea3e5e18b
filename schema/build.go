package schema

import (
	"context"
	"fmt"
	"time"

	"github.com/schemahook/schemahook/config"
	"github.com/schemahook/schemahook/devdb"
	"github.com/schemahook/schemahook/engine"
	"github.com/schemahook/schemahook/migrations"
)

// BuildOptions say where Build replays.
type BuildOptions struct {
	// DevURL is "ephemeral" (a throwaway server started for the build) or the URL of a dev
	// server on which a temporary database is created and dropped.
	DevURL string
	// Major picks the ephemeral server's major (0: the first found); like the hook's dev
	// replay, the nearest newer major stands in for one that is not installed.
	Major int
	// Log receives progress lines.
	Log func(string)
}

// Build replays every file of dir (versioned files in order, then repeatables) on an empty
// database and returns the normalised schema they build.
func Build(ctx context.Context, dir *migrations.Dir, o BuildOptions) (*Schema, error) {
	return BuildFiles(ctx, Files(dir), o)
}

// BuildFiles replays files in their order on an empty database and returns the normalised
// schema they build.
func BuildFiles(ctx context.Context, files []*migrations.File, o BuildOptions) (*Schema, error) {
	logf := func(format string, args ...any) {
		if o.Log != nil {
			o.Log(fmt.Sprintf(format, args...))
		}
	}
	admin, near := o.DevURL, []string(nil)
	major := o.Major
	if o.DevURL == "" || o.DevURL == config.DevEphemeral {
		bin, err := devdb.FindServer(o.Major)
		if err != nil {
			return nil, fmt.Errorf("the ephemeral Postgres: %w", err)
		}
		start := time.Now()
		srv, err := devdb.Start(ctx, devdb.Options{BinDir: bin.Dir})
		if err != nil {
			return nil, fmt.Errorf("starting the ephemeral Postgres: %w", err)
		}
		defer srv.Stop()
		admin, near, major = srv.URL("postgres"), []string{srv.BinDir()}, srv.Major()
		logf("started an ephemeral Postgres %d in %s", srv.Major(), time.Since(start).Round(time.Millisecond))
	}
	client, err := devdb.FindClient(major, near...)
	if err != nil {
		return nil, fmt.Errorf("pg_dump for the schema: %w", err)
	}
	db, err := devdb.CreateTempDB(ctx, admin, "schemahook_schema")
	if err != nil {
		return nil, err
	}
	defer db.Drop()
	if err := Replay(ctx, db.URL, files); err != nil {
		return nil, err
	}
	logf("replayed %d files on an empty database", len(files))
	return DumpParsed(ctx, client.Dir, db.URL)
}

// Files are dir's files in the order a fresh replay runs them: versioned files by version,
// then the repeatables.
func Files(dir *migrations.Dir) []*migrations.File {
	var files, rep []*migrations.File
	for _, f := range dir.Files {
		if f.Repeatable {
			rep = append(rep, f)
		} else {
			files = append(files, f)
		}
	}
	return append(files, rep...)
}

// Replay applies files on the database at url as the hook's dev replay does (one
// transaction per file, no history written).
func Replay(ctx context.Context, url string, files []*migrations.File) error {
	conn, err := engine.Connect(ctx, url, engine.ConnectOptions{Timeout: 30 * time.Second, AppName: "schemahook schema"})
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = engine.Apply(ctx, conn, nil, files, engine.ApplyOptions{TxMode: engine.TxFile})
	return err
}
