#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs what the tests need (Postgres,
# PgBouncer), then unit and Postgres tests, brief fuzzing, and the end-to-end suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Postgres programs (scripts/postgres/ensure.sh installs what is missing, once): Debian's
# server and client (the tests' default server, and an older pg_dump), PgBouncer (tests run
# it in front of their Postgres), servers of every supported major for the tests that run the
# hook against targets of each (pgtest.Majors), and the newest client tools (pg_dump, psql).
majors=(14 15 16 17 18)
dirs="$(bash scripts/postgres/ensure.sh system pgbouncer "${majors[@]}" client)"
readarray -t dirs <<<"$dirs"
export SCHEMAHOOK_PG_BIN="${dirs[0]}"
echo "postgres binaries: $SCHEMAHOOK_PG_BIN"
echo "pgbouncer: ${dirs[1]}"
dirs=("${dirs[@]:2}")
SCHEMAHOOK_TEST_PG_MAJORS=""
for i in "${!majors[@]}"; do
  # "-": not published for this architecture (arm64 has no 14).
  [ "${dirs[$i]}" = - ] || SCHEMAHOOK_TEST_PG_MAJORS+="${majors[$i]}=${dirs[$i]} "
done
export SCHEMAHOOK_TEST_PG_MAJORS SCHEMAHOOK_PG_CLIENT_BIN="${dirs[${#majors[@]}]}"
echo "postgres majors: $SCHEMAHOOK_TEST_PG_MAJORS"
echo "postgres client: $SCHEMAHOOK_PG_CLIENT_BIN"

test -z "$(gofmt -l $(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $(git ls-files '*.go'); exit 1; }
go vet ./...
# Static analysis (staticcheck.conf: which checks and why), built once from the Go module
# proxy at a pinned version into Go's build cache.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -count=1 -timeout 20m ./...

# Brief fuzzing of every parser that reads untrusted input: a number of inputs each (about a
# few seconds on 2 cores, scripts/fuzz-targets.txt), not a duration. With a duration, Go
# 1.26's fuzzing coordinator can report "context deadline exceeded" as a failure when the
# time is up on a busy machine (golang/go#75804, fixed in Go 1.27). FUZZTIME overrides
# both (e.g. FUZZTIME=10m for a longer run).
while read -r pkg target execs; do
  [ -n "$pkg" ] || continue
  go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-${execs}x}" "$pkg"
done < scripts/fuzz-targets.txt

if [ -f e2e/go.mod ] && [ "${SCHEMAHOOK_SKIP_E2E:-}" != 1 ]; then
  bash e2e/run.sh
fi
