#!/usr/bin/env bash
# Makes sure Postgres server binaries exist (Debian's postgresql-15), installing them when
# missing, so tests and the demo run on a fresh machine. Prints the bin directory.
set -euo pipefail
find_bin() {
  for d in "${SCHEMAHOOK_PG_BIN:-}" /usr/lib/postgresql/*/bin; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/pg_dump" ]; then echo "$d"; return 0; fi
  done
  return 1
}
if ! find_bin >/dev/null; then
  echo "installing Postgres server binaries (postgresql-15)..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 >&2 || \
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi
find_bin
