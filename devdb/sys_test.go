package devdb

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func itoa(i int) string { return strconv.Itoa(i) }

func statUID(st os.FileInfo) uint32 { return st.Sys().(*syscall.Stat_t).Uid }

// postmasterPid reads the running server's process id from its postmaster.pid.
func postmasterPid(t *testing.T, s *Server) int {
	b, err := os.ReadFile(filepath.Join(s.Dir(), "data", "postmaster.pid"))
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(first)
	require.NoError(t, err)
	return pid
}
