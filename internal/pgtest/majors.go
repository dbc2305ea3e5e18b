package pgtest

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/devdb"
)

// EnvMajors names the server binaries of each Postgres major the multi-major tests run
// against, as MAJOR=BINDIR pairs separated by spaces ("14=/x/server-14/bin 16=/y/bin").
// scripts/test.sh sets it from scripts/postgres/ensure.sh.
const EnvMajors = "SCHEMAHOOK_TEST_PG_MAJORS"

// Majors returns the server binaries of $SCHEMAHOOK_TEST_PG_MAJORS in ascending major order,
// checking that each directory runs the major it is listed as. The test is skipped when the
// variable is unset.
func Majors(t testing.TB) []devdb.Bin {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(EnvMajors))
	if v == "" {
		t.Skipf("%s is not set: no Postgres servers of several majors to test against (scripts/test.sh sets it)", EnvMajors)
	}
	bins, err := ParseMajors(v)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return bins
}

// ParseMajors reads the MAJOR=BINDIR list of $SCHEMAHOOK_TEST_PG_MAJORS.
func ParseMajors(v string) ([]devdb.Bin, error) {
	var bins []devdb.Bin
	for _, f := range strings.Fields(v) {
		m, dir, ok := strings.Cut(f, "=")
		major, err := strconv.Atoi(m)
		if !ok || err != nil || dir == "" {
			return nil, fmt.Errorf("%s: %q is not MAJOR=BINDIR", EnvMajors, f)
		}
		bins = append(bins, devdb.Bin{Dir: dir, Major: major})
	}
	slices.SortFunc(bins, func(a, b devdb.Bin) int { return a.Major - b.Major })
	return bins, nil
}
