package migrations

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestFDBatchClosesOnlyItsOwn: an fdBatch closes every descriptor given to it, in runs, and
// never one between them that it was not given.
func TestFDBatchClosesOnlyItsOwn(t *testing.T) {
	open := func() int {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		require.NoError(t, err)
		return fd
	}
	isOpen := func(fd int) bool {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return err == nil
	}
	var mine []int
	var foreign int
	for i := range 2*fdBatchSize + 10 {
		if i == 7 {
			foreign = open()
			defer unix.Close(foreign)
		}
		mine = append(mine, open())
	}
	c := &fdBatch{}
	for _, fd := range mine {
		c.close(fd)
	}
	c.flush()
	for _, fd := range mine {
		require.False(t, isOpen(fd), "descriptor %d given to the batch is still open", fd)
	}
	require.True(t, isOpen(foreign), "descriptor %d among the batch's was closed", foreign)
}

// TestSortByName: the keyed sort orders names as strings.Compare does, names that start
// one another, share everything but their ends, or share nothing included.
func TestSortByName(t *testing.T) {
	sets := [][]string{
		{"20250101000002_b.sql", "20250101000001_a.sql", "20250101000001_a.sql.bak", "20250101000001_", "2025010100000", "20250101000010_c.sql"},
		{"b", "a", "ab", "aab", "", "ba"},
		{"same_prefix_x", "same_prefix_xy", "same_prefix_x\x01", "same_prefix_w" + strings.Repeat("z", 20), "same_prefix_w"},
		{"only"},
	}
	for i := range 300 {
		sets[0] = append(sets[0], fmt.Sprintf("%014d_step_%d.sql", 20250101000000+(i*7919)%1000, i))
	}
	for _, names := range sets {
		list := make([]*dirent, len(names))
		for i, n := range names {
			list[i] = &dirent{name: n}
		}
		sortByName(list)
		want := slices.Clone(names)
		slices.Sort(want)
		got := make([]string, len(list))
		for i, e := range list {
			got[i] = e.name
		}
		require.Equal(t, want, got)
	}
}

// TestDirFSReadsFilesNotItsOwn: a process reading files it does not own (the hook's user
// reading a ConfigMap's, root's) may not open them with O_NOATIME; it reads them all the
// same, as root reads them. Runs the reading as nobody, so only as root.
func TestDirFSReadsFilesNotItsOwn(t *testing.T) {
	if dir := os.Getenv("SCHEMAHOOK_TEST_READ_AS_OTHER"); dir != "" {
		fsys, err := OpenDir(dir)
		require.NoError(t, err)
		defer fsys.Close()
		d, err := Read(fsys, Options{DeferStatements: true})
		require.NoError(t, err)
		require.True(t, fsys.atime.Load(), "O_NOATIME was refused and dropped")
		fmt.Println(strings.Join(shape(d), "\n"))
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root, to read as another user")
	}
	dir := t.TempDir()
	for i := range 200 {
		write(t, dir, fmt.Sprintf("%03d_f.sql", i), fmt.Sprintf("SELECT %d;\n", i))
	}
	for p := dir; p != filepath.Dir(os.TempDir()) && p != "/"; p = filepath.Dir(p) {
		if strings.HasPrefix(p, os.TempDir()+"/") {
			require.NoError(t, os.Chmod(p, 0o755)) // t.TempDir's directories are 0700
		}
	}
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	defer fsys.Close()
	want, err := Read(fsys, Options{DeferStatements: true})
	require.NoError(t, err)
	// The test binary, where nobody can run it (go test builds it in a 0700 directory).
	self, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	bin := filepath.Join(filepath.Dir(dir), "reader.test")
	require.NoError(t, os.WriteFile(bin, self, 0o755))
	cmd := exec.Command(bin, "-test.run=^TestDirFSReadsFilesNotItsOwn$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SCHEMAHOOK_TEST_READ_AS_OTHER="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), strings.Join(shape(want), "\n"))
}
