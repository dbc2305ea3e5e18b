package hooks

import (
	"fmt"
	"testing"

	"github.com/schemahook/schemahook/internal/pgtest"
	"github.com/stretchr/testify/require"
)

// BenchmarkDevReplay1000 is `migrate plan` of 1,000 pending migrations with an ephemeral
// dev server: initdb, the fresh replay, the schema copy and the replay on it.
func BenchmarkDevReplay1000(b *testing.B) {
	files := map[string]string{}
	for i := 1; i <= 1000; i++ {
		files[fmt.Sprintf("%05d_t%d.sql", i, i)] = fmt.Sprintf("CREATE TABLE t%d (id int PRIMARY KEY, v text);\n", i)
	}
	dir := writeDir(b, files)
	url := pgtest.URL(b)
	for b.Loop() {
		r := runMode(b, ModePlan, Options{Dir: dir, URL: url, DevURL: "ephemeral", Lint: "off"})
		require.Zero(b, r.code, "%v", r.err)
		require.Equal(b, 1000, r.report.Pending)
	}
}
