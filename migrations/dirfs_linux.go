package migrations

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/schemahook/schemahook/failure"
)

// rootFD opens the directory of root a second time for openat2 (os.Root keeps its own
// descriptor to itself); -1 when it cannot.
func rootFD(root *os.Root) int {
	fd, err := unix.Open(root.Name(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
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
func (d *DirFS) readFast(e fs.DirEntry, maxSize int64) (b []byte, ferr *failure.Error, ok bool) {
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
		fd, err = unix.Openat2(d.fd, e.Name(), &how)
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
	defer unix.Close(fd)
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
	// One read of size+1 bytes: a regular file that gives exactly its size is at its end (a
	// shorter read or a longer file reads on, up to the limit).
	limit := maxSize + 1
	b = make([]byte, 0, min(st.Size+1, limit))
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow: the file is longer than its stat said
		}
		buf := b[len(b):cap(b)]
		if room := limit - int64(len(b)); int64(len(buf)) > room {
			buf = buf[:room]
		}
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &failure.Error{Rule: RuleRead, Msg: (&fs.PathError{Op: "read", Path: e.Name(), Err: err}).Error()}, true
		}
		b = b[:len(b)+n]
		if n == 0 || (int64(len(b)) == st.Size && n < len(buf)) {
			break
		}
	}
	if int64(len(b)) > maxSize {
		return nil, &failure.Error{Rule: "limit-file-size", Msg: fmt.Sprintf("file is more than %d bytes, the limit", maxSize)}, true
	}
	return b, nil, true
}

// resolveErr words a failed confined open as os.Root does.
func resolveErr(err error) string {
	if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ELOOP) {
		return "path escapes from parent"
	}
	return err.Error()
}

// modeType is the fs.FileMode type bits of a stat mode.
func modeType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}
