package migrations

import (
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/schemahook/schemahook/failure"
)

// DirFS is a migration directory opened for Read: an fs.FS confined to the directory like
// an os.Root (a symlink is followed only as far as it stays inside). Read reads its files
// in parallel and, on Linux, each with one openat2, fstat, read and close: opening through
// os.Root also registers every file with the poller (fcntl, epoll_ctl), twice the system
// calls, and at thousands of files those calls are most of a nothing-to-do run.
type DirFS struct {
	root *os.Root
	fsys fs.FS
	fd   int         // the directory's descriptor for the fast reads; -1 when there are none
	slow atomic.Bool // the kernel refused openat2 once: read through root from then on
	top  []fs.DirEntry
}

// OpenDir opens dir for Read. Close it when done.
func OpenDir(dir string) (*DirFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return RootDir(root), nil
}

// RootDir is the directory of root opened for Read, for a caller that reached it through
// another root (the plugin, inside the repository's). It takes root over: Close closes it.
func RootDir(root *os.Root) *DirFS {
	return &DirFS{root: root, fsys: root.FS(), fd: rootFD(root)}
}

// Close releases the directory.
func (d *DirFS) Close() error {
	closeFD(d.fd)
	return d.root.Close()
}

// Open opens a file through the os.Root, non-blocking: os then takes the descriptor as it
// is, where a blocking open costs four fcntl calls to try it on the poller and back, and a
// named pipe swapped in after the listing cannot stall the read. A regular file reads the
// same either way.
func (d *DirFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := d.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Listed is the top directory's entries as the last ReadDir(".") gave them (Read lists
// it), so a caller that needs them again does not list it a second time; nil before.
func (d *DirFS) Listed() []fs.DirEntry { return d.top }

// ReadDir lists a directory through the os.Root; the top one, on Linux, with getdents and,
// where the file system gives no entry types (then os lstats each entry in turn), with
// those lstats in parallel.
func (d *DirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return fs.ReadDir(d.fsys, name)
	}
	entries, ok := d.readTop()
	if !ok {
		var err error
		if entries, err = fs.ReadDir(d.fsys, name); err != nil {
			return nil, err
		}
	}
	d.top = entries
	return entries, nil
}

// parallel runs f(0) ... f(n-1) on up to 4 goroutines, or in turn when n is small.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), 4)
	if n < 64 || workers < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// Stat stats a file through the os.Root, following symlinks inside it.
func (d *DirFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(d.fsys, name) }

// readEntry reads the file of a top-level entry, refusing what is not a regular file with
// the errors checkRegular and readLimited give.
// fds, when not nil, closes the descriptors in batches.
func (d *DirFS) readEntry(e fs.DirEntry, maxSize int64, fds *fdBatch) ([]byte, *failure.Error) {
	if !d.slow.Load() {
		b, err, ok := d.readFast(e, maxSize, fds)
		if ok {
			return b, err
		}
		d.slow.Store(true)
	}
	return readEntry(d, e, maxSize)
}

// readJob is one file Read reads: its entry, and a refusal found before reading it.
type readJob struct {
	e   fs.DirEntry
	err *failure.Error
	b   []byte
	// done is set once the file was read (or refused); a worker that stopped early leaves
	// it unset and the file is read in order.
	done bool
}

// readAll reads the jobs in parallel, stopping early once more than maxTotal bytes were
// read, since Read will refuse the directory then. Read takes the results in order and
// reads any job left undone itself, so it refuses exactly what reading one by one would.
func (d *DirFS) readAll(jobs []readJob, maxSize, maxTotal int64) {
	var total atomic.Int64
	fds := &fdBatch{}
	defer fds.flush()
	parallel(len(jobs), func(i int) {
		j := &jobs[i]
		if j.done || total.Load() > maxTotal {
			return
		}
		j.b, j.err = d.readEntry(j.e, maxSize, fds)
		total.Add(int64(len(j.b)))
		j.done = true
	})
}
