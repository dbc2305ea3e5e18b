package plugin

import (
	"errors"
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
	if err := schema.CheckFresh(a.display(schema.FileName), string(b), dir, a.display(".")); err != nil {
		return "", err
	}
	return string(b), nil
}
