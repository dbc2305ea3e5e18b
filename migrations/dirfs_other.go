//go:build !linux

package migrations

import (
	"io/fs"
	"os"

	"github.com/schemahook/schemahook/failure"
)

func rootFD(*os.Root) int { return -1 }

func closeFD(int) {}

// readTop has no fast path outside Linux: DirFS lists through os.Root.
func (d *DirFS) readTop(*prefetch) ([]fs.DirEntry, *listReader, bool) { return nil, nil, false }

// readFast has no fast path outside Linux: DirFS reads through os.Root.
func (d *DirFS) readFast(fs.DirEntry, int64, *fdBatch, *arena) ([]byte, *failure.Error, bool) {
	return nil, nil, false
}

// dirent is never listed outside Linux: ReadDir lists through os.Root.
type dirent struct {
	fs.DirEntry
	read fileRead
}

// listReader reads nothing outside Linux.
type listReader struct{}

func (*listReader) settle() bool { return false }

// fdBatch has nothing to batch outside Linux.
type fdBatch struct{}

func (*fdBatch) flush() {}
