package migrations

import (
	"fmt"
	"slices"
	"strings"
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
