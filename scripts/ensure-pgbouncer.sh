#!/usr/bin/env bash
# Makes sure PgBouncer exists (Debian's pgbouncer package), installing it when missing: the
# engine and hooks tests run real PgBouncer in front of their Postgres. Prints its path.
# The package's own service is not needed; the tests start their own instances.
set -euo pipefail
find_bin() {
  for p in "$(command -v pgbouncer 2>/dev/null || true)" /usr/sbin/pgbouncer; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}
if ! find_bin >/dev/null; then
  echo "installing PgBouncer (pgbouncer)..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pgbouncer >&2
fi
find_bin
