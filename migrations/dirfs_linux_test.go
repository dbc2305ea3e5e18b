package migrations

import (
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
