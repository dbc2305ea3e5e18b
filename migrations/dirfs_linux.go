package migrations

import (
	"errors"
	"fmt"
	"io"
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
	}, st.Size, maxSize, true)
	if err != nil {
		return nil, &failure.Error{Rule: RuleRead, Msg: (&fs.PathError{Op: "read", Path: e.Name(), Err: err}).Error()}, true
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
