package devdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TempDB is a uniquely named database created on a server for one run. Drop it when done.
type TempDB struct {
	Name     string
	URL      string // the admin URL with the database replaced
	adminURL string
}

// CreateTempDB creates a uniquely named database (prefix + time + random) through adminURL,
// a URL of a role allowed to CREATE DATABASE. The caller must Drop it, also on failure.
func CreateTempDB(ctx context.Context, adminURL, prefix string) (*TempDB, error) {
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("dev server URL: %w", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	name := fmt.Sprintf("%s_%s_%s", prefix, time.Now().UTC().Format("20060102150405"), hex.EncodeToString(rnd[:]))
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the dev server: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("creating dev database %s: %w", name, err)
	}
	return &TempDB{Name: name, URL: WithDatabase(adminURL, name), adminURL: adminURL}, nil
}

// Drop removes the database, disconnecting any session left on it. It uses its own short
// deadline so it still runs after the run's context was cancelled (SIGTERM).
func (d *TempDB) Drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.adminURL)
	if err != nil {
		return fmt.Errorf("dropping dev database %s: %w", d.Name, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)")
	if err != nil { // before Postgres 13 there is no FORCE: end the sessions, then drop
		_, err = conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", d.Name)
		if err == nil {
			_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize())
		}
	}
	if err != nil {
		return fmt.Errorf("dropping dev database %s: %w", d.Name, err)
	}
	return nil
}

// WithDatabase returns the connection string u with its database replaced, keeping every
// other setting (URL or keyword/value form).
func WithDatabase(u, db string) string {
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		p, err := url.Parse(u)
		if err == nil {
			p.Path = "/" + db
			p.RawPath = ""
			q := p.Query()
			if q.Has("dbname") {
				q.Set("dbname", db)
				p.RawQuery = q.Encode()
			}
			return p.String()
		}
	}
	return u + " dbname='" + strings.ReplaceAll(db, "'", `\'`) + "'"
}
