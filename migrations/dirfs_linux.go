package migrations

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/schemahook/schemahook/failure"
)

// rootFD is a descriptor of root's directory for openat2 (os.Root keeps its own to
// itself), opened through root so it is the directory root confines to, whatever its path
// leads to by now; -1 when there is none.
func rootFD(root *os.Root) int {
	f, err := root.OpenFile(".", os.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return -1
	}
	fd, dupErr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil || dupErr != nil {
		return -1
	}
	return fd
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// readFast reads the file of entry e confined to the directory, like os.Root: a symlink is
// opened with openat2 and followed only while it stays inside (RESOLVE_BENEATH), anything
// else with openat and O_NOFOLLOW. ok is false when the kernel has no openat2 (before
// Linux 5.6) or a seccomp profile refuses it, and the caller reads through os.Root instead.
func (d *DirFS) readFast(e fs.DirEntry, maxSize int64, fds *fdBatch, ar *arena) (b []byte, ferr *failure.Error, ok bool) {
	if d.fd < 0 {
		return nil, nil, false
	}
	symlink := e.Type()&fs.ModeSymlink != 0
	if !symlink && !e.Type().IsRegular() {
		return nil, checkRegular(d, e), true // a device, pipe, socket or directory: never opened
	}
	how := unix.OpenHow{
		// O_NONBLOCK: a pipe swapped in for the file cannot block the open.
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	if !symlink {
		how.Resolve |= unix.RESOLVE_NO_SYMLINKS // the entry was a regular file: it must still be
	}
	if !symlink && !d.atime.Load() {
		// Reading leaves the access time alone (the kernel then skips checking whether to
		// update it on every read); only a file's owner may ask that: the first EPERM
		// stops asking.
		how.Flags |= unix.O_NOATIME
	}
	var fd int
	var err error
	for {
		fd, err = openat2(d.fd, e.Name(), &how, ar, !symlink)
		if err == unix.EPERM && how.Flags&unix.O_NOATIME != 0 {
			d.atime.Store(true)
			how.Flags &^= unix.O_NOATIME
			continue
		}
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err == unix.ENOSYS || err == unix.EPERM:
		return nil, nil, false
	case err != nil && symlink:
		return nil, &failure.Error{Rule: "not-regular-file", Msg: "is a symlink that does not resolve inside the directory: " + resolveErr(err)}, true
	case err != nil:
		return nil, &failure.Error{Rule: RuleRead, Msg: (&fs.PathError{Op: "openat", Path: e.Name(), Err: err}).Error()}, true
	}
	defer fds.close(fd)
	if !symlink {
		// A read of a regular file stops short of the room it was given only at the file's
		// end, so a file that fits needs no stat for its size: one system call fewer per
		// file, which at thousands of files is a tenth of the reading. What does not settle
		// so (empty, refused, as large as the room) is looked at closer, from the start.
		// The entry was a regular file when listed; had a named pipe been swapped in since,
		// its read is empty (no writer) and the stat below refuses it as before.
		buf := ar.room(maxSize + 1)
		n, err := readRetry(fd, buf)
		if err == nil && n > 0 && n < len(buf) {
			return ar.keep(buf[:n]), nil, true
		}
		if n > 0 {
			if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
				return nil, &failure.Error{Rule: RuleRead, Msg: (&fs.PathError{Op: "seek", Path: e.Name(), Err: err}).Error()}, true
			}
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &failure.Error{Rule: RuleRead, Msg: (&fs.PathError{Op: "stat", Path: e.Name(), Err: err}).Error()}, true
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		what := "is a " + typeName(modeType(st.Mode)) + ", not a regular file"
		if symlink {
			what = "is a symlink to a " + typeName(modeType(st.Mode)) + ", not to a regular file"
		}
		return nil, &failure.Error{Rule: "not-regular-file", Msg: what}, true
	}
	if st.Size > maxSize {
		return nil, &failure.Error{Rule: "limit-file-size", Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", st.Size, maxSize)}, true
	}
	b, err = readBounded(func(buf []byte) (int, error) {
		n, err := readRetry(fd, buf)
		if err == nil && n == 0 {
			return 0, io.EOF
		}
		return n, err
	}, st.Size, maxSize, true, ar.buf(st.Size+1))
	b = ar.keep(b)
	if err != nil {
		return nil, &failure.Error{Rule: RuleRead, Msg: (&fs.PathError{Op: "read", Path: e.Name(), Err: err}).Error()}, true
	}
	if int64(len(b)) > maxSize {
		return nil, &failure.Error{Rule: "limit-file-size", Msg: fmt.Sprintf("file is more than %d bytes, the limit", maxSize)}, true
	}
	return b, nil, true
}

// readRetry is unix.Read, again when a signal interrupted it.
func readRetry(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Read(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// openat2 is unix.Openat2 with the name made a C string in ar's buffer, so that opening
// thousands of files does not allocate a copy of each name. With single (an entry that is
// not a symlink), a name of one path element is opened with openat and O_NOFOLLOW
// instead, which confines it the same (no '/' to walk, no symlink to follow, and the
// listing gives no "..") and costs the kernel less.
func openat2(dirfd int, name string, how *unix.OpenHow, ar *arena, single bool) (int, error) {
	if ar == nil || strings.IndexByte(name, 0) >= 0 {
		return unix.Openat2(dirfd, name, how)
	}
	ar.name = append(append(ar.name[:0], name...), 0)
	var fd uintptr
	var errno unix.Errno
	if single && name != ".." && strings.IndexByte(name, '/') < 0 {
		fd, _, errno = unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&ar.name[0])),
			uintptr(how.Flags|unix.O_NOFOLLOW), 0, 0, 0)
	} else {
		fd, _, errno = unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd), uintptr(unsafe.Pointer(&ar.name[0])),
			uintptr(unsafe.Pointer(how)), unsafe.Sizeof(*how), 0, 0)
	}
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// fdBatchSize is how many descriptors an fdBatch holds before it closes them.
const fdBatchSize = 128

// fdBatch closes the descriptors of the files read in batches: each run of consecutive
// descriptors, all of them its own, with one close_range (Linux 5.9) instead of a close
// per file. Only descriptors given to it are ever closed, so a run never spans one opened
// elsewhere in the process meanwhile. A nil *fdBatch closes at once.
type fdBatch struct {
	mu    sync.Mutex
	fds   []int
	alone atomic.Bool // close_range was refused (old kernel, seccomp): close one by one
}

// close closes fd, now or with its batch.
func (c *fdBatch) close(fd int) {
	if c == nil {
		unix.Close(fd)
		return
	}
	c.mu.Lock()
	c.fds = append(c.fds, fd)
	var full []int
	if len(c.fds) >= fdBatchSize {
		full, c.fds = c.fds, make([]int, 0, fdBatchSize)
	}
	c.mu.Unlock()
	c.closeAll(full)
}

// flush closes what the batch still holds; the reads are over.
func (c *fdBatch) flush() {
	c.mu.Lock()
	rest := c.fds
	c.fds = nil
	c.mu.Unlock()
	c.closeAll(rest)
}

func (c *fdBatch) closeAll(fds []int) {
	slices.Sort(fds)
	for i := 0; i < len(fds); {
		j := i
		for j+1 < len(fds) && fds[j+1] == fds[j]+1 {
			j++
		}
		// close_range fails before closing anything (ENOSYS, EPERM, EINVAL).
		if j == i || c.alone.Load() || unix.CloseRange(uint(fds[i]), uint(fds[j]), 0) != nil {
			if j > i {
				c.alone.Store(true)
			}
			for _, fd := range fds[i : j+1] {
				unix.Close(fd)
			}
		}
		i = j + 1
	}
}

// readTop lists the top directory with getdents, and lstats in parallel only the entries
// whose type the file system did not give. ok is false when it cannot; ReadDir then lists
// through os.Root. With pre, the files pre wants are read while getdents goes on: each
// batch of entries is handed to reading goroutines as it comes, so the listing (the kernel
// hashes every name of a large ext4 directory, then the names are sorted) no longer comes
// before the first read.
func (d *DirFS) readTop(pre *prefetch) (entries []fs.DirEntry, r *listReader, ok bool) {
	if d.fd < 0 {
		return nil, nil, false
	}
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, false
	}
	defer unix.Close(fd)
	r = d.reader(pre)
	defer func() {
		if !ok {
			r.settle() // what was read is dropped
		}
	}()
	var list []*dirent
	var unknown []*dirent
	var block []dirent // the dirents, allocated a batch at a time
	var names []byte   // their names, likewise
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, false
		}
		if n <= 0 {
			break
		}
		from := len(list)
		for off := 0; off < n; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name NUL-terminated
			rec := buf[off : off+int(binary.NativeEndian.Uint16(buf[off+16:]))]
			off += len(rec)
			name := rec[19:]
			name = name[:bytes.IndexByte(name, 0)]
			if string(name) == "." || string(name) == ".." {
				continue
			}
			if len(block) == cap(block) {
				block = make([]dirent, 0, 256)
			}
			if cap(names)-len(names) < len(name) {
				names = make([]byte, 0, max(16<<10, len(name)))
			}
			names = append(names, name...) // within capacity: earlier names stay put
			block = append(block, dirent{d: d, name: bytesString(names[len(names)-len(name):]), typ: direntTypes[rec[18]]})
			e := &block[len(block)-1]
			if rec[18] == unix.DT_UNKNOWN {
				unknown = append(unknown, e)
			}
			list = append(list, e)
		}
		r.send(list[from:], len(list))
	}
	r.close()
	failed := atomic.Bool{}
	parallel(len(unknown), func(_, i int) {
		var st unix.Stat_t
		if err := unix.Fstatat(d.fd, unknown[i].name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			failed.Store(true)
			return
		}
		unknown[i].typ = modeType(st.Mode)
	})
	if failed.Load() {
		return nil, nil, false
	}
	sortByName(list)
	entries = make([]fs.DirEntry, len(list))
	for i, e := range list {
		entries[i] = e
	}
	return entries, r, true
}

// sortByName sorts list by name, 8 bytes at a time: the entries are sorted by an integer
// made of their names' first 8 bytes, then each run of equal keys by the next 8, and so on
// (a radix sort with 8-byte digits). Most comparisons are then of two integers side by
// side in one slice, not of two names elsewhere in memory: ten thousand names that share
// their first ten bytes (a timestamp's date) sort in 2.0 ms instead of 3.1 ms.
func sortByName(list []*dirent) {
	ks := make([]keyed, len(list))
	for i, e := range list {
		ks[i].e = e
	}
	sortKeyed(ks, 0)
	for i := range ks {
		list[i] = ks[i].e
	}
}

type keyed struct {
	key uint64 // bytes depth..depth+8 of the name, big-endian, zero-padded
	e   *dirent
}

// sortKeyed sorts ks, whose names are equal before depth, by the names from depth on.
func sortKeyed(ks []keyed, depth int) {
	if len(ks) < 2 {
		return
	}
	for i := range ks {
		var b [8]byte
		if n := ks[i].e.name; len(n) > depth {
			copy(b[:], n[depth:])
		}
		ks[i].key = binary.BigEndian.Uint64(b[:])
	}
	// A name holds no NUL, so a shorter name padded with zeros sorts before a longer one
	// it starts, as strings.Compare has it.
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	for i := 0; i < len(ks); {
		j := i + 1
		for j < len(ks) && ks[j].key == ks[i].key {
			j++
		}
		// Equal keys: the names are equal up to depth+8, and none ends before it unless
		// all of them are that one name.
		if j-i > 1 && len(ks[i].e.name) > depth+8 {
			sortKeyed(ks[i:j], depth+8)
		}
		i = j
	}
}

// listReader reads the files a listing hands it, on goroutines of its own; a nil one reads
// nothing.
type listReader struct {
	d     *DirFS
	pre   *prefetch
	work  chan []*dirent
	wg    sync.WaitGroup
	fds   fdBatch
	total atomic.Int64
	// arenas: one per reading goroutine, and the last for the listing's own goroutine,
	// which reads too once it has listed.
	arenas  [maxWorkers + 1]arena
	closed  bool
	settled bool
	// partial is set when a file the listing gave was not handed to the readers, or not
	// read by them: Read reads those itself.
	partial atomic.Bool
}

// reader starts the reading goroutines for pre; nil when there is nothing to read or one
// core to read on (the files are then read after the listing, as before).
func (d *DirFS) reader(pre *prefetch) *listReader {
	workers := min(runtime.GOMAXPROCS(0), maxWorkers)
	if pre == nil || workers < 2 {
		return nil
	}
	r := &listReader{d: d, pre: pre, work: make(chan []*dirent, 1024)}
	for w := range workers {
		r.wg.Go(func() { r.drain(&r.arenas[w]) })
	}
	return r
}

// readRun is how many files a reading goroutine takes at a time.
const readRun = 16

// send hands the entries of one getdents batch that pre wants to the readers, in runs of
// readRun; listed is how many entries the listing holds so far.
func (r *listReader) send(batch []*dirent, listed int) {
	if r == nil {
		return
	}
	if listed > r.pre.maxFiles {
		r.partial.Store(true)
		return
	}
	var run []*dirent
	for _, e := range batch {
		if e.typ == fs.ModeIrregular { // DT_UNKNOWN: its type is not known yet, Read reads it
			r.partial.Store(true)
			continue
		}
		if !r.pre.want(e) {
			continue
		}
		if run == nil {
			run = make([]*dirent, 0, readRun)
		}
		if run = append(run, e); len(run) == readRun {
			r.work <- run
			run = nil
		}
	}
	if run != nil {
		r.work <- run
	}
}

// drain reads the runs handed over until the listing is closed and its queue empty. After
// each run it lets another goroutine have its core: the connection to the database, which
// waits for the server's answers meanwhile, would otherwise wait for a reader to block.
func (r *listReader) drain(ar *arena) {
	for run := range r.work {
		for _, e := range run {
			if r.total.Load() > r.pre.maxTotal {
				r.partial.Store(true)
				continue
			}
			r.d.read(e, &e.read, r.pre.maxSize, &r.fds, ar)
			r.total.Add(int64(len(e.read.b)))
		}
		runtime.Gosched()
	}
}

// close ends the listing: no more entries come.
func (r *listReader) close() {
	if r != nil && !r.closed {
		r.closed = true
		close(r.work)
	}
}

// settle reads what is still queued on the caller's goroutine, beside the readers, waits
// for them and closes what they left open. complete reports whether every file the
// listing gave that the reader wanted was read. Settling again does nothing.
func (r *listReader) settle() (complete bool) {
	if r == nil {
		return false
	}
	if !r.settled {
		r.settled = true
		r.close()
		r.drain(&r.arenas[maxWorkers])
		r.wg.Wait()
		r.fds.flush()
	}
	return !r.partial.Load()
}

// direntTypes are the fs.FileMode type bits of getdents's d_type values.
var direntTypes = map[uint8]fs.FileMode{
	unix.DT_DIR: fs.ModeDir, unix.DT_LNK: fs.ModeSymlink, unix.DT_BLK: fs.ModeDevice,
	unix.DT_CHR: fs.ModeDevice | fs.ModeCharDevice, unix.DT_FIFO: fs.ModeNamedPipe, unix.DT_SOCK: fs.ModeSocket,
	unix.DT_UNKNOWN: fs.ModeIrregular,
}

// dirent is an entry of the top directory.
type dirent struct {
	d    *DirFS
	name string
	typ  fs.FileMode
	read fileRead // the file's, when the listing read it (prefetch)
}

func (e *dirent) Name() string               { return e.name }
func (e *dirent) IsDir() bool                { return e.typ.IsDir() }
func (e *dirent) Type() fs.FileMode          { return e.typ }
func (e *dirent) Info() (fs.FileInfo, error) { return e.d.root.Lstat(e.name) }

// resolveErr words a failed confined open as os.Root does.
func resolveErr(err error) string {
	if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ELOOP) {
		return "path escapes from parent"
	}
	return err.Error()
}

// modeTypes are the fs.FileMode type bits of the stat file types.
var modeTypes = map[uint32]fs.FileMode{
	unix.S_IFDIR: fs.ModeDir, unix.S_IFLNK: fs.ModeSymlink, unix.S_IFBLK: fs.ModeDevice,
	unix.S_IFCHR: fs.ModeDevice | fs.ModeCharDevice, unix.S_IFIFO: fs.ModeNamedPipe, unix.S_IFSOCK: fs.ModeSocket,
}

// modeType is the fs.FileMode type bits of a stat mode.
func modeType(m uint32) fs.FileMode {
	if t, ok := modeTypes[m&unix.S_IFMT]; ok {
		return t
	}
	return fs.ModeIrregular
}
