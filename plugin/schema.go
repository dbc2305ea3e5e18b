package plugin

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/schemahook/schemahook/migrations"
	"github.com/schemahook/schemahook/render"
	"github.com/schemahook/schemahook/schema"
)

// readSchema reads the app directory's schema.sql ("" when there is none) and refuses one
// built from other migrations than the directory holds. Render stays offline: it compares
// the checksum in the header with the directory's, and never replays.
func readSchema(a *app, dir *migrations.Dir) (string, error) {
	b, err := readCapped(a, schema.FileName, render.ShardBudget)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	file := a.display(schema.FileName)
	sum, line, _, err := schema.ReadFile(file, string(b))
	if err != nil {
		return "", err
	}
	if now := schema.DirSum(dir.ComputeSum()); sum != now {
		return "", fmt.Errorf("%s:%d: stale: built from migrations %s, but %s is now %s: refresh it with `schemahook schema %s` and commit it [stale-schema]",
			file, line, sum, dir.Path, now, a.display("."))
	}
	return string(b), nil
}
