package migrations

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/schemahook/schemahook/failure"
)

// DirFS is a migration directory opened for Read: an fs.FS confined to the directory like
// an os.Root (a symlink is followed only as far as it stays inside). Read reads its files
// in parallel, on Linux while the directory is still being listed, and each with as few
// system calls as it can: a regular file that fits the room it is given with one open
// and one read (closes are batched), a symlink or anything unusual with an fstat more.
// Opening through os.Root also registers every file with the poller (fcntl, epoll_ctl),
// and at thousands of files the system calls are most of a nothing-to-do run.
type DirFS struct {
	root *os.Root
	fsys fs.FS
	fd   int         // the directory's descriptor for the fast reads; -1 when there are none
	slow atomic.Bool // the kernel refused openat2 once: read through root from then on
	// atime is set once opening with O_NOATIME was refused (the files are not the
	// process's own): open without it from then on.
	atime atomic.Bool
	top   []fs.DirEntry
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
	entries, settle, err := d.list(nil)
	settle()
	return entries, err
}

// list lists the top directory as ReadDir does. With pre, it also starts reading the files
// pre wants while the listing goes on (Linux), into each *dirent's read, and returns
// before those reads are done: settle waits for them (and reads the rest of the queue on
// the caller's goroutine). complete reports whether every file the listing gave that pre
// wants was read; the caller reads the others. settle must be called, once or more.
func (d *DirFS) list(pre *prefetch) (entries []fs.DirEntry, settle func() (complete bool), err error) {
	entries, r, ok := d.readTop(pre)
	if !ok {
		if entries, err = fs.ReadDir(d.fsys, "."); err != nil {
			return nil, func() bool { return false }, err
		}
	}
	d.top = entries
	return entries, r.settle, nil
}

// prefetch is what Read asks of the listing: read the files it wants, each within
// maxSize, stopping once more than maxTotal bytes were read or more than maxFiles entries
// listed (Read refuses the directory then, and reads in order what was left undone).
type prefetch struct {
	want              func(fs.DirEntry) bool
	maxSize, maxTotal int64
	maxFiles          int
}

// fileRead is what reading one file gave: its bytes or its refusal, and what the goroutine
// that read it learnt of the bytes while they were in its cache.
type fileRead struct {
	b   []byte
	err *failure.Error
	// sum is the sha256 of b, hex the same in lowercase hex, facts the facts of b; for the
	// sum file, sum is of its lines below the first, which its first line pins.
	sum    [sha256.Size]byte
	hex    [2 * sha256.Size]byte
	facts  textFacts
	summed bool // sum, hex and facts are set
	// done is set once the file was read (or refused); a reader that stopped early leaves
	// it unset and Read reads the file in order.
	done bool
}

// read reads the file of e into r.
func (d *DirFS) read(e fs.DirEntry, r *fileRead, maxSize int64, fds *fdBatch, ar *arena) {
	r.b, r.err = d.readEntry(e, maxSize, fds, ar)
	if r.err == nil {
		if e.Name() == SumFileName {
			_, body, _ := strings.Cut(bytesString(r.b), "\n")
			r.sum = sha256.Sum256(stringBytes(body))
		} else {
			r.sum, r.facts = sha256.Sum256(r.b), factsOf(bytesString(r.b))
			hex.Encode(r.hex[:], r.sum[:])
		}
		r.summed = true
	}
	r.done = true
}

// maxWorkers is how many goroutines parallel runs at most.
const maxWorkers = 4

// parallel runs f(w, 0) ... f(w, n-1) on up to maxWorkers goroutines, or in turn when n is
// small; w (below maxWorkers) tells the goroutine, for state of its own.
func parallel(n int, f func(w, i int)) {
	workers := min(runtime.GOMAXPROCS(0), maxWorkers)
	if n < 64 || workers < 2 {
		for i := range n {
			f(0, i)
		}
		return
	}
	// Each goroutine claims a run of indexes at a time, so the counter and the neighbouring
	// elements f writes are not passed between the cores at every index.
	const run = 16
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for from := int(next.Add(run)) - run; from < n; from = int(next.Add(run)) - run {
				for i := from; i < min(from+run, n); i++ {
					f(w, i)
				}
			}
		})
	}
	wg.Wait()
}

// arena hands out the buffers files are read into, cut from chunks of arenaChunk bytes:
// one allocation per chunk instead of one per file, without rounding each up to a size
// class. At thousands of small files that halves the fresh memory the bytes take, and a
// fresh page costs more than reading the file into it. A file's bytes stay where they were
// read, so a chunk lives as long as any file cut from it. Each reading goroutine has its
// own, which also holds the name it opens (name, NUL-terminated for the system call).
type arena struct {
	chunk []byte
	name  []byte
	_     [64]byte // two readers' arenas, side by side in an array, never share a cache line
}

const arenaChunk = 256 << 10

// buf is an empty buffer with room for n bytes: from the chunk, or its own for a file too
// large to share one.
func (a *arena) buf(n int64) []byte {
	if a == nil || n > arenaChunk/8 {
		return nil
	}
	if int64(cap(a.chunk)-len(a.chunk)) < n {
		a.chunk = make([]byte, 0, arenaChunk)
	}
	at := len(a.chunk)
	return a.chunk[at : at : at+int(n)]
}

// room is an empty buffer with what room the chunk has left, at most max and
// arenaChunk/8 bytes and at least a page (else from a fresh chunk), for a file whose size
// is not known yet.
func (a *arena) room(max int64) []byte {
	n := min(max, arenaChunk/8)
	if a == nil {
		return make([]byte, min(n, 4096))
	}
	if int64(cap(a.chunk)-len(a.chunk)) < min(n, 4096) {
		a.chunk = make([]byte, 0, arenaChunk)
	}
	n = min(n, int64(cap(a.chunk)-len(a.chunk)))
	at := len(a.chunk)
	return a.chunk[at : at+int(n) : at+int(n)]
}

// keep takes b, read into the last buf or room, out of the chunk: b's length is used, the rest of
// the room given back. A b that outgrew its buf (the file grew) was allocated elsewhere.
func (a *arena) keep(b []byte) []byte {
	if a != nil && len(b) > 0 && len(a.chunk) < cap(a.chunk) && unsafe.SliceData(b) == unsafe.SliceData(a.chunk[len(a.chunk):]) {
		a.chunk = a.chunk[:len(a.chunk)+len(b)]
	}
	return b[:len(b):len(b)] // nothing appended to b can reach the next file's bytes
}

// Stat stats a file through the os.Root, following symlinks inside it.
func (d *DirFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(d.fsys, name) }

// readEntry reads the file of a top-level entry, refusing what is not a regular file with
// the errors checkRegular and readLimited give.
// fds, when not nil, closes the descriptors in batches; ar, when not nil, holds the bytes.
func (d *DirFS) readEntry(e fs.DirEntry, maxSize int64, fds *fdBatch, ar *arena) ([]byte, *failure.Error) {
	if !d.slow.Load() {
		b, err, ok := d.readFast(e, maxSize, fds, ar)
		if ok {
			return b, err
		}
		d.slow.Store(true)
	}
	return readEntry(d, e, maxSize)
}

// readJob is one file Read reads: its entry, and where its read goes (the entry's own, when
// the listing read it).
type readJob struct {
	e fs.DirEntry
	*fileRead
}

// readAll reads the jobs not done yet in parallel, stopping early once more than maxTotal
// bytes were read, since Read will refuse the directory then. Read takes the results in
// order and reads any job left undone itself, so it refuses exactly what reading one by one
// would.
func (d *DirFS) readAll(jobs []readJob, maxSize, maxTotal int64) {
	var total atomic.Int64
	fds := &fdBatch{}
	defer fds.flush()
	var arenas [maxWorkers]arena
	parallel(len(jobs), func(w, i int) {
		j := &jobs[i]
		if j.done || total.Load() > maxTotal {
			return
		}
		d.read(j.e, j.fileRead, maxSize, fds, &arenas[w])
		total.Add(int64(len(j.b)))
	})
}
