package migrations

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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

// readFast reads the file of entry e with openat2 confined to the directory, like os.Root:
// a symlink is followed only while it stays inside (RESOLVE_BENEATH). ok is false when the
// kernel has no openat2 (before Linux 5.6) or a seccomp profile refuses it, and the caller
// reads through os.Root instead.
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
	var fd int
	var err error
	for {
		fd, err = openat2(d.fd, e.Name(), &how, ar)
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
		for {
			n, err := unix.Read(fd, buf)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				return 0, err
			case n == 0:
				return 0, io.EOF
			}
			return n, nil
		}
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

// openat2 is unix.Openat2 with the name made a C string in ar's buffer, so that opening
// thousands of files does not allocate a copy of each name.
func openat2(dirfd int, name string, how *unix.OpenHow, ar *arena) (int, error) {
	if ar == nil || strings.IndexByte(name, 0) >= 0 {
		return unix.Openat2(dirfd, name, how)
	}
	ar.name = append(append(ar.name[:0], name...), 0)
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd), uintptr(unsafe.Pointer(&ar.name[0])),
		uintptr(unsafe.Pointer(how)), unsafe.Sizeof(*how), 0, 0)
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
// through os.Root.
func (d *DirFS) readTop() (entries []fs.DirEntry, ok bool) {
	if d.fd < 0 {
		return nil, false
	}
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	var list []*dirent
	var unknown []*dirent
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if n <= 0 {
			break
		}
		for off := 0; off < n; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name NUL-terminated
			rec := buf[off : off+int(binary.NativeEndian.Uint16(buf[off+16:]))]
			off += len(rec)
			name := rec[19:]
			name = name[:bytes.IndexByte(name, 0)]
			if string(name) == "." || string(name) == ".." {
				continue
			}
			e := &dirent{name: string(name), typ: direntTypes[rec[18]]}
			if rec[18] == unix.DT_UNKNOWN {
				unknown = append(unknown, e)
			}
			list = append(list, e)
		}
	}
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
		return nil, false
	}
	slices.SortFunc(list, func(a, b *dirent) int { return strings.Compare(a.name, b.name) })
	entries = make([]fs.DirEntry, len(list))
	for i, e := range list {
		e.d = d
		entries[i] = e
	}
	return entries, true
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
