#!/usr/bin/env bash
# schemahook beside the tools users would pick instead, in one run on one throwaway Postgres.
# Writes bench/RESULTS.md. Entry point: `make bench` (builds bin/schemahook first).
#
# Knobs (environment):
#   BENCH_RUNS=5         runs per measurement (medians are reported)
#   BENCH_BIG_RUNS=1     runs of apply (every tool, the hook's default too) at BENCH_BIG, the slow column
#   BENCH_N=1000         migrations for apply, dev replay, the plugin server round trip
#   BENCH_BIG=10000      the large size: every path (apply, hook default, nothing-to-do, render) at scale
#   BENCH_SMALL=100      the small size: every path, where process start and connecting dominate
#   BENCH_PORT=55432     TCP port of the throwaway Postgres (127.0.0.1 only)
#   BENCH_OUT=bench/RESULTS.md
#   BENCH_WORK=DIR       keep the work directory (samples, logs, outputs) there instead of a temp dir
#   BENCH_CMP=0          skip section 5 (the argocd-cmp-server round trip, which compiles argo-cd)
#   BENCH_PGTMP=DIR      where Postgres data directories go (default /dev/shm when it is a tmpfs; empty: the work dir)
#   BENCH_PROFILE=0      skip the CPU profiles (generate and nothing-to-do at BENCH_BIG, apply, the round trip)
# Debug on small sizes first: BENCH_RUNS=1 BENCH_N=40 BENCH_BIG=200 BENCH_SMALL=10 BENCH_OUT=/tmp/r.md
# Every path runs at the three sizes (the scaling table); medians of BENCH_RUNS runs, of
# BENCH_BIG_RUNS for apply at BENCH_BIG.
set -euo pipefail
# The whole script is one block, so bash has read all of it before running any: editing the
# file during a run does not change that run.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${BENCH_RUNS:-5}
BIG_RUNS=${BENCH_BIG_RUNS:-1}
N=${BENCH_N:-1000}
BIG=${BENCH_BIG:-10000}
SMALL=${BENCH_SMALL:-100}
PORT=${BENCH_PORT:-55432}
OUT=${BENCH_OUT:-$ROOT/bench/RESULTS.md}
BIN=$ROOT/bin/schemahook
TOOLS=$ROOT/bench/.tools/bin
GOOSE_VERSION=v3.29.0
MIGRATE_VERSION=v4.20.1
T0=$EPOCHREALTIME
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

[ -x "$BIN" ] || die "$BIN missing: run \`make bench\` (it builds first)"

# --- tools -----------------------------------------------------------------------------
PGBIN=$(bash scripts/postgres/ensure.sh system)
PSQL=$PGBIN/psql
if ! [ -x /usr/bin/time ] || ! /usr/bin/time -f %M true >/dev/null 2>&1; then
  log "installing GNU time (Debian package 'time') for max RSS"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >&2
fi
mkdir -p "$TOOLS"
# modversion BIN: the main module version a Go binary was built from ("" when not a Go binary).
modversion() { go version -m "$1" 2>/dev/null | awk '$1=="mod" {print $3; exit}'; }
if [ "$(modversion "$TOOLS/goose")" != "$GOOSE_VERSION" ]; then
  log "installing goose $GOOSE_VERSION (Postgres driver only) into bench/.tools/bin"
  GOBIN=$TOOLS go install -tags 'no_clickhouse no_libsql no_mssql no_mysql no_sqlite3 no_vertica no_ydb' \
    "github.com/pressly/goose/v3/cmd/goose@$GOOSE_VERSION"
fi
if [ "$(modversion "$TOOLS/migrate")" != "$MIGRATE_VERSION" ]; then
  log "installing golang-migrate $MIGRATE_VERSION (-tags postgres) into bench/.tools/bin"
  GOBIN=$TOOLS go install -tags postgres "github.com/golang-migrate/migrate/v4/cmd/migrate@$MIGRATE_VERSION"
fi
GOOSE=$TOOLS/goose
MIGRATE=$TOOLS/migrate

# --- work dir, files --------------------------------------------------------------------
if [ -n "${BENCH_WORK:-}" ]; then
  WORK=$BENCH_WORK; rm -rf "$WORK"; mkdir -p "$WORK"
else
  WORK=$(mktemp -d /tmp/schemahook-bench.XXXXXX)
fi
# As root the dev servers run as an unprivileged user, which must be able to enter the work
# directory (mktemp makes it 0700).
chmod 755 "$WORK"
WORK=$(cd "$WORK" && pwd)
# Postgres data directories (the throwaway server's, the dev servers' under TMPDIR, and
# the plugin server's untar) go to a tmpfs when the machine has one. On an ext4 without a
# journal (these machines' root file system) the inode allocator skips every inode freed in
# the last 30 s (5.5 min while its block is unwritten): back to back, runs that create and
# drop thousands of relation files slowed each other 2-3x (the dev replay of 1,000 files
# took 0.7 s on a tmpfs and 2.1 s, then 3.0 s, on that disk). A hook pod's dev server
# starts in a fresh emptyDir. The migration files stay in the work directory.
PGTMP=${BENCH_PGTMP-}
if [ -z "${BENCH_PGTMP+set}" ] && [ -w /dev/shm ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
  PGTMP=/dev/shm
fi
if [ -n "$PGTMP" ]; then
  PGDIR=$(mktemp -d "$PGTMP/schemahook-bench-pg.XXXXXX")
  chmod 755 "$PGDIR"
  export TMPDIR=$PGDIR
else
  PGDIR=$WORK
fi
SAMPLES=$WORK/samples.tsv
META=$WORK/meta.tsv
: >"$SAMPLES"; : >"$META"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }

go build -o "$WORK/gen" ./bench/gen
for n in "$SMALL" "$N" "$BIG"; do
  [ -d "$WORK/n$n" ] && continue
  "$WORK/gen" files -n "$n" -out "$WORK/n$n"
  "$BIN" hash "$WORK/n$n/native" >/dev/null 2>&1 || die "schemahook hash $WORK/n$n/native"
  # The render input: an app directory as it sits in Git.
  mkdir -p "$WORK/app$n"
  cp -r "$WORK/n$n/native" "$WORK/app$n/migrations"
  cat >"$WORK/app$n/schemahook.yaml" <<EOF
apiVersion: schemahook.dev/v1alpha1
kind: Database
metadata:
  name: bench
spec:
  url:
    secretKeyRef: {name: pg-credentials, key: url}
  migrations: {dir: migrations, format: auto}
EOF
  meta "bytes-$n" "$(cat "$WORK/n$n/native/"*.sql | wc -c | awk '{printf "%.0f KiB", $1/1024}')"
done
log "work directory: $WORK ($N, $BIG and $SMALL generated migrations)"

# --- the dev server as in the image ------------------------------------------------------
# The image carries, beside each major's binaries, a data directory made by initdb at build
# time (Dockerfile: schemahook devdb --init-template), which a Job's dev server copies
# instead of running initdb. The hook's default is measured that way: the same template is
# made where the image keeps it, and removed at the end when this run made it. Where that
# directory cannot be written (not root), dev servers run initdb and the report says so.
TEMPLATE=$(dirname "$PGBIN")/schemahook-pgdata
MADE_TEMPLATE=""
if [ -f "$TEMPLATE/PG_VERSION" ]; then
  meta "dev server" "the image's initdb template ($TEMPLATE, already present)"
elif "$BIN" devdb --init-template "$PGBIN" >"$WORK/template.log" 2>&1; then
  MADE_TEMPLATE=1
  meta "dev server" "the image's initdb template, made as the Dockerfile does ($TEMPLATE, removed after the run)"
else
  rm -rf "$TEMPLATE" 2>/dev/null || true
  log "no initdb template (cannot write $TEMPLATE): dev servers run initdb, slower than in the image"
  meta "dev server" "none: every dev server runs initdb (the image copies a template instead)"
fi

# --- the throwaway Postgres -------------------------------------------------------------
DEVDB_PID=""
cleanup() {
  if [ -n "$DEVDB_PID" ]; then kill -TERM "$DEVDB_PID" 2>/dev/null || true; wait "$DEVDB_PID" 2>/dev/null || true; fi
  [ -z "$MADE_TEMPLATE" ] || rm -rf "$TEMPLATE"
  [ "$PGDIR" = "$WORK" ] || rm -rf "$PGDIR"
  [ -n "${BENCH_WORK:-}" ] || [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
"$BIN" devdb --dir "$PGDIR" --port "$PORT" >"$WORK/devdb.url" 2>"$WORK/devdb.log" &
DEVDB_PID=$!
for _ in $(seq 300); do
  [ -s "$WORK/devdb.url" ] && break
  kill -0 "$DEVDB_PID" 2>/dev/null || { cat "$WORK/devdb.log" >&2; die "schemahook devdb exited"; }
  sleep 0.1
done
ADMIN=$(head -1 "$WORK/devdb.url")
[ -n "$ADMIN" ] || die "schemahook devdb printed no URL"
PGPREFIX=${ADMIN%/postgres\?*}
# dburl NAME: the server's URL for database NAME (no password: devdb trusts local connections).
dburl() { printf '%s' "$ADMIN" | sed -E "s#/postgres(\\?|\$)#/$1\\1#"; }
sql() { PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -v ON_ERROR_STOP=1 "$ADMIN" "$@"; }
fresh() { sql -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; }
log "Postgres up: $(sql -Atc 'SHOW server_version') on 127.0.0.1:$PORT"

# --- timing -----------------------------------------------------------------------------
# timed SECTION TOOL N RUN CMD...: runs CMD under GNU time (stdout and stderr to files in
# $WORK/out) and records its wall time, CPU time (user+system) and max RSS. Fails the bench
# when CMD fails, showing its stderr.
mkdir -p "$WORK/out"
declare -A SEEN
timed() {
  local section=$1 tool=$2 n=$3 run=$4; shift 4
  local o="$WORK/out/$section-$tool-$n-$run" t1 t2
  if [ -z "${SEEN[$section/$tool]:-}" ]; then
    SEEN[$section/$tool]=1
    local shown="" a
    for a in "$@"; do
      a=${a//$WORK/\$WORK}; a=${a//$PGPREFIX/\$PG}; a=${a#$ROOT/}
      case $a in *[\ \'\|\*\?]*) a="\"$a\"" ;; esac
      shown+="$a "
    done
    meta command "$(printf '%-7s %-17s %s' "$section" "$tool" "$shown")"
  fi
  # CPU from bash's time keyword (user and system time of every process waited for, to the
  # millisecond; GNU time prints it to 10 ms, the whole CPU of a small run), which includes
  # GNU time's own (well under 1 ms); max RSS from GNU time.
  local TIMEFORMAT='%3U %3S'
  t1=$EPOCHREALTIME
  { time /usr/bin/time -f '%M' -o "$o.time" "$@" >"$o.out" 2>"$o.err"; } 2>"$o.cpu" || { tail -20 "$o.err" >&2; die "$section $tool n=$n run $run failed"; }
  t2=$EPOCHREALTIME
  paste -d' ' <(tail -1 "$o.cpu") <(tail -1 "$o.time") | awk -v s="$section" -v t="$tool" -v n="$n" -v r="$run" -v a="$t1" -v b="$t2" \
    '{printf "%s\t%s\t%s\t%s\t%.6f\t%.3f\t%s\n", s, t, n, r, b-a, $1+$2, $3}' >>"$SAMPLES"
}
record() { printf '%s\t%s\t%s\t%s\t%s\t-\t-\n' "$@" >>"$SAMPLES"; }
# godur 1m2.5s|4.521s|312ms|950µs -> seconds
godur() {
  awk -v d="$1" 'BEGIN{ s=0
    if (match(d, /^[0-9.]+h/)) { s+=substr(d,1,RLENGTH-1)*3600; d=substr(d,RLENGTH+1) }
    if (match(d, /^[0-9.]+m[^s]/) || match(d, /^[0-9.]+m$/)) { v=d; sub(/m.*/, "", v); s+=v*60; sub(/^[0-9.]+m/, "", d) }
    if (d ~ /ms$/) s+=d/1000; else if (d ~ /(µs|us)$/) s+=d/1e6; else if (d ~ /ns$/) s+=d/1e9; else if (d ~ /s$/) s+=d+0
    printf "%.6f", s }'
}

# --- 1. apply ---------------------------------------------------------------------------
APPLY_TOOLS=(psql schemahook-nodev schemahook-lint schemahook-dev goose golang-migrate)
cmd_for() { # tool db set -> argv on stdout, one per line
  local db; db=$(dburl "$2")
  case $1 in
    psql)             printf '%s\n' "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$WORK/$3/psql.sql" ;;
    schemahook-nodev) printf '%s\n' "$BIN" migrate apply --dir "$WORK/$3/native" --url "$db" --dev-url none --lint off --output json ;;
    schemahook-lint)  printf '%s\n' "$BIN" migrate apply --dir "$WORK/$3/native" --url "$db" --dev-url none --output json ;;
    schemahook-dev)   printf '%s\n' "$BIN" migrate apply --dir "$WORK/$3/native" --url "$db" --dev-url ephemeral --output json ;;
    schemahook)       printf '%s\n' "$BIN" migrate apply --dir "$WORK/$3/native" --url "$db" --output json ;;
    goose)            printf '%s\n' "$GOOSE" -dir "$WORK/$3/goose" postgres "$db" up ;;
    golang-migrate)   printf '%s\n' "$MIGRATE" -path "$WORK/$3/golang-migrate" -database "$db" up ;;
  esac
}
dbname() { echo "b_${1//-/_}_$2"; }

# runs_for N: how many runs of apply at N (the large size is slow: one run each by default).
runs_for() { if [ "$1" = "$BIG" ]; then echo "$BIG_RUNS"; else echo "$RUNS"; fi; }
for n in "$SMALL" "$N" "$BIG"; do
  log "1. apply $n migrations: ${APPLY_TOOLS[*]}, $(runs_for "$n") runs each (interleaved)"
  for run in $(seq "$(runs_for "$n")"); do
    for tool in "${APPLY_TOOLS[@]}"; do
      db=$(dbname "$tool" "$n")
      fresh "$db"
      mapfile -t argv < <(cmd_for "$tool" "$db" "n$n")
      timed apply "$tool" "$n" "$run" "${argv[@]}"
    done
    log "  run $run: $(awk -F'\t' -v r="$run" -v n="$n" '$1=="apply" && $3==n && $4==r {printf "%s %.2fs  ", $2, $5}' "$SAMPLES")"
  done
done
# Every tool applied every file: compare the catalogs the tools left (tables, columns, indexes, rows).
shape() {
  "$PSQL" -X -Atq -d "$(dburl "$1")" -c "SELECT (SELECT count(*) FROM pg_tables WHERE tablename LIKE 'bench_t%'),
    (SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'bench_t%'),
    (SELECT count(*) FROM information_schema.columns WHERE table_name LIKE 'bench_t%')"
}
for n in "$SMALL" "$N" "$BIG"; do
  want=$(shape "$(dbname psql "$n")")
  for tool in "${APPLY_TOOLS[@]}"; do
    got=$(shape "$(dbname "$tool" "$n")")
    [ "$got" = "$want" ] || die "$tool left tables|indexes|columns $got at $n files, psql $want"
  done
  log "  $n files: every tool left the same catalog (tables|indexes|columns = $want)"
done

# --- 2. nothing to do -------------------------------------------------------------------
# The apply databases above hold every file applied, by the tool itself (schemahook's by
# the --dev-url none --lint off run).
NOOP_TOOLS=(schemahook goose golang-migrate)
log "2. nothing to do over $SMALL, $N and $BIG applied, $RUNS runs"
for run in $(seq "$RUNS"); do
  for n in "$SMALL" "$N" "$BIG"; do
    timed noop psql "$n" "$run" "$PSQL" -X -q -d "$(dburl "$(dbname psql "$N")")" -c 'SELECT 1'
    timed noop schemahook-start "$n" "$run" "$BIN" version
    for tool in "${NOOP_TOOLS[@]}"; do
      src=$tool; [ "$tool" = schemahook ] && src=schemahook-nodev
      mapfile -t argv < <(cmd_for "$tool" "$(dbname "$src" "$n")" "n$n")
      timed noop "$tool" "$n" "$run" "${argv[@]}"
    done
  done
done
grep -q '"status": *"up-to-date"' "$WORK/out/noop-schemahook-$BIG-1.out" || die "schemahook nothing-to-do run was not up-to-date: $(head -c 300 "$WORK/out/noop-schemahook-$BIG-1.out")"

# --- 3. render --------------------------------------------------------------------------
log "3. render: schemahook generate over $SMALL, $N, $BIG files (and the cat|sha256sum floor)"
export ARGOCD_APP_NAME=bench ARGOCD_APP_NAMESPACE=bench
for run in $(seq "$RUNS"); do
  for n in "$SMALL" "$N" "$BIG"; do
    timed render schemahook "$n" "$run" "$BIN" generate "$WORK/app$n"
    timed render floor "$n" "$run" sh -c "cat $WORK/app$n/migrations/*.sql | sha256sum"
  done
done
cmp -s "$WORK/out/render-schemahook-$N-1.out" "$WORK/out/render-schemahook-$N-2.out" 2>/dev/null || [ "$RUNS" = 1 ] || die "generate output differs between runs"
meta render-output "$(wc -c <"$WORK/out/render-schemahook-$BIG-1.out") bytes of YAML for $BIG files"

# --- 4. dev replay ----------------------------------------------------------------------
log "4. dev replay: migrate plan --dev-url ephemeral, $N pending, $RUNS runs"
for run in $(seq "$RUNS"); do
  db=$(dbname plan "$N"); fresh "$db"
  timed dev total "$N" "$run" "$BIN" migrate plan --dir "$WORK/n$N/native" --url "$(dburl "$db")" --dev-url ephemeral --lint off
  e="$WORK/out/dev-total-$N-$run.err"
  s=$(sed -nE 's/.*started an ephemeral Postgres [0-9]+ for the dev replay in ([^ ]+).*/\1/p' "$e" | head -1)
  r=$(sed -nE 's/.*dev replay passed in ([^ ]+).*/\1/p' "$e" | head -1)
  if [ -n "$s" ]; then record dev start "$N" "$run" "$(godur "$s")"; fi
  if [ -n "$r" ]; then record dev replay "$N" "$run" "$(godur "$r")"; fi
done

# --- 5. argocd-cmp-server round trip ----------------------------------------------------
ARGO_VERSION=$(awk '$1=="github.com/argoproj/argo-cd/v2" {print $2; exit}' e2e/go.mod 2>/dev/null || true)
meta argo-cd "${ARGO_VERSION:-(not in e2e/go.mod)}"
if [ "${BENCH_CMP:-1}" = 0 ]; then
  meta cmp-missing "skipped (BENCH_CMP=0)."
elif [ ! -d e2e/cmpbench ]; then
  meta cmp-missing "the e2e harness (e2e/cmpbench) is not in this tree."
else
  log "5. argocd-cmp-server round trip for $N files (compiling the e2e benchmark; first time takes minutes)"
  if (cd e2e && go test -c -o "$WORK/cmpbench.test" ./cmpbench) >"$WORK/cmpbench.build.log" 2>&1; then
    cmpcmd=(env SCHEMAHOOK_BIN="$BIN" BENCH_APP_DIR="$WORK/app$N" "$WORK/cmpbench.test" -test.run '^$' -test.bench BenchmarkCMPRender -test.benchtime "${RUNS}x" -test.count 1)
    if [ "${BENCH_PROFILE:-1}" = 1 ]; then mkdir -p "$WORK/profiles"; cmpcmd+=(-test.cpuprofile "$WORK/profiles/cmp-$N.pprof"); fi
    meta cmp-command "cd e2e && go test -c ./cmpbench && SCHEMAHOOK_BIN=bin/schemahook BENCH_APP_DIR=\$WORK/app$N ./cmpbench.test -test.run '^\$' -test.bench BenchmarkCMPRender -test.benchtime ${RUNS}x"
    if (cd e2e/cmpbench && "${cmpcmd[@]}") >"$WORK/cmpbench.out" 2>&1; then
      # BenchmarkCMPRender-2  5  123 ns/op  120 roundtrip-median-ns  45 direct-median-ns
      awk -v n="$N" '/^BenchmarkCMPRender/ { for (i=2;i<=NF;i++) { if ($(i)=="roundtrip-median-ns") rt=$(i-1); if ($(i)=="direct-median-ns") d=$(i-1) } }
        END { if (rt) printf "cmp\troundtrip\t%s\t1\t%.6f\t-\t-\n", n, rt/1e9; if (d) printf "cmp\tdirect\t%s\t1\t%.6f\t-\t-\n", n, d/1e9 }' \
        "$WORK/cmpbench.out" >>"$SAMPLES"
      grep -q $'^cmp\troundtrip' "$SAMPLES" || meta cmp-missing "the benchmark printed no result: $(tail -5 "$WORK/cmpbench.out" | tr '\n' ' ')"
    else
      meta cmp-missing "the e2e benchmark failed: $(tail -5 "$WORK/cmpbench.out" | tr '\n' ' ')"
    fi
  else
    meta cmp-missing "the e2e benchmark did not compile: $(tail -5 "$WORK/cmpbench.build.log" | tr '\n' ' ')"
  fi
fi

# --- CPU profiles -----------------------------------------------------------------------
# The code paths of the slowest schemahook figures, in-process under pprof (bench/profile).
if [ "${BENCH_PROFILE:-1}" = 1 ]; then
  log "profiles: generate and nothing-to-do at $BIG files, apply of $N (--dev-url none and the hook's default)"
  mkdir -p "$WORK/profiles"
  go build -o "$WORK/profile" ./bench/profile
  top() { # NAME BINARY PROFILE: the top of the profile, cumulative, without the runtime's own frames
    # (awk rather than head: head would stop reading early, and under pipefail the writer's SIGPIPE ends the run)
    go tool pprof -top -cum -nodecount=60 "$2" "$3" 2>/dev/null |
      awk 'NR<=8 || ($0 !~ / (runtime|internal\/|syscall\.|testing\.|main\.main|google\.golang\.org\/grpc\.|github\.com\/grpc-ecosystem|go\.opentelemetry)/)' |
      grep -v -E '^(File|Build ID|Type|Time):|^Showing|^Dropped' | awk 'NR<=28' >"$WORK/profiles/$1.txt"
  }
  "$WORK/profile" -cpu "$WORK/profiles/generate-$BIG.pprof" -n 3 generate "$WORK/app$BIG" >"$WORK/profiles/generate-$BIG.summary"
  top "generate-$BIG" "$WORK/profile" "$WORK/profiles/generate-$BIG.pprof"
  "$WORK/profile" -cpu "$WORK/profiles/noop-$BIG.pprof" -n 3 noop -dir "$WORK/n$BIG/native" -url "$(dburl "$(dbname schemahook-nodev "$BIG")")" >"$WORK/profiles/noop-$BIG.summary"
  top "noop-$BIG" "$WORK/profile" "$WORK/profiles/noop-$BIG.pprof"
  "$WORK/profile" -cpu "$WORK/profiles/apply-$N.pprof" -n 3 apply -lint off -dir "$WORK/n$N/native" -url "$ADMIN" >"$WORK/profiles/apply-$N.summary"
  top "apply-$N" "$WORK/profile" "$WORK/profiles/apply-$N.pprof"
  "$WORK/profile" -cpu "$WORK/profiles/hook-$N.pprof" -n 1 apply -dev ephemeral -dir "$WORK/n$N/native" -url "$ADMIN" >"$WORK/profiles/hook-$N.summary"
  top "hook-$N" "$WORK/profile" "$WORK/profiles/hook-$N.pprof"
  if [ -s "$WORK/profiles/cmp-$N.pprof" ]; then top "cmp-$N" "$WORK/cmpbench.test" "$WORK/profiles/cmp-$N.pprof"; fi
  meta profile-command "go build -o profile ./bench/profile && ./profile -cpu generate.pprof -n 3 generate \$WORK/app$BIG && ./profile -cpu noop.pprof -n 3 noop -dir \$WORK/n$BIG/native -url \$URL && go tool pprof -top -cum profile generate.pprof"
fi

# --- meta and report --------------------------------------------------------------------
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta elapsed "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f s", b-a}')"
meta machine "$(nproc) cores ($(uname -m)), Linux $(uname -r)"
meta cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
meta memory "$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
meta os "$(. /etc/os-release && echo "$PRETTY_NAME")"
meta load "load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
meta go "$(go version | cut -d' ' -f3-)"
meta postgres "$(sql -Atc 'SELECT version()' | cut -d, -f1)"
pgwhere="data directories in $PGDIR"
[ "$PGDIR" = "$WORK" ] || pgwhere="data directories (and the dev servers', through TMPDIR) on a tmpfs ($PGTMP; BENCH_PGTMP= keeps them on disk)"
meta "postgres settings" "one server from \`schemahook devdb\` (fsync=off, synchronous_commit=off, full_page_writes=off, shared_buffers=16MB), TCP on 127.0.0.1; every tool gets its own database; $pgwhere"
meta schemahook "$("$BIN" version 2>&1 | head -1)"
meta goose "$(modversion "$GOOSE") (go install -tags 'no_clickhouse no_libsql no_mssql no_mysql no_sqlite3 no_vertica no_ydb' github.com/pressly/goose/v3/cmd/goose@$GOOSE_VERSION)"
meta golang-migrate "$(modversion "$MIGRATE") (go install -tags postgres github.com/golang-migrate/migrate/v4/cmd/migrate@$MIGRATE_VERSION)"
meta psql "$("$PSQL" --version)"
meta apply-n "$N"; meta big-n "$BIG"; meta small-n "$SMALL"
meta apply-runs "$RUNS"; meta big-runs "$BIG_RUNS"; meta noop-runs "$RUNS"; meta render-runs "$RUNS"; meta dev-runs "$RUNS"
meta mix "a repeating cycle of CREATE TABLE, ALTER TABLE ADD COLUMN ×2, CREATE INDEX and INSERT of 10 rows, from \`bench/gen\`"
"$WORK/gen" report -samples "$SAMPLES" -meta "$META" -notes bench/NOTES.md -profiles "$WORK/profiles" -out "$OUT"
log "wrote $OUT in $(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f s", b-a}') (work dir $WORK)"
exit 0
}
