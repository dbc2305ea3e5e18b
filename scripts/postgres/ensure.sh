#!/usr/bin/env bash
# ensure.sh WHAT...: the one place tests, the demo and the benchmarks get Postgres programs on a
# development machine. Prints one line per WHAT, installing it first when missing:
#   14..18     a server bin directory of that major (./versions), installed into the cache
#              (${XDG_CACHE_HOME:-$HOME/.cache}/schemahook/postgres, keyed by version); "-" when
#              that major is not published for this architecture
#   client     the bin directory of pg_dump and psql of the newest major, built into the cache
#   system     the bin directory of Debian's own Postgres (server and client tools, postgresql-15
#              on bookworm), or $SCHEMAHOOK_PG_BIN when set: the tests' default server, and an
#              older pg_dump than the client's
#   pgbouncer  the path of Debian's pgbouncer (the tests start their own instances)
# As root without XDG_CACHE_HOME the cache is /var/cache/schemahook/postgres instead: servers
# run as an unprivileged user, who cannot enter /root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
if [ "$(id -u)" = 0 ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
  cache=/var/cache/schemahook/postgres
else
  cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/schemahook/postgres"
fi
export PG_DOWNLOADS="$cache/downloads"

# system_bin prints the first directory holding Debian's server and client programs.
system_bin() {
  local d
  for d in "${SCHEMAHOOK_PG_BIN:-}" /usr/lib/postgresql/*/bin; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/pg_dump" ]; then echo "$d"; return 0; fi
  done
  return 1
}

for what in "$@"; do
  case "$what" in
  system)
    system_bin >/dev/null || apt_install postgresql-15 || apt_install postgresql
    system_bin
    continue ;;
  pgbouncer)
    command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer
    command -v pgbouncer || echo /usr/sbin/pgbouncer
    continue ;;
  client)
    version="$(awk '$1=="client"{print $2}' "$here/versions")"
    dir="$cache/client-$version"
    if [ ! -x "$dir/bin/pg_dump" ]; then
      apt_install gcc make bison flex bzip2 curl libssl-dev zlib1g-dev
      echo "postgres: building client tools $version into $dir (once)" >&2
      mkdir -p "$cache"; rm -rf "$dir.tmp"
      "$here/install-client.sh" "$dir.tmp" >&2
      rm -rf "$dir"; mv "$dir.tmp" "$dir"
    fi ;;
  *)
    version="$(awk -v m="$what" '$1=="server" && $2==m {print $3}' "$here/versions")"
    [ -n "$version" ] || { echo "postgres: no server $what in $here/versions" >&2; exit 2; }
    dir="$cache/server-$version"
    if [ ! -x "$dir/bin/postgres" ]; then
      echo "postgres: installing server $version into $dir (once)" >&2
      mkdir -p "$cache"; rm -rf "$dir.tmp"
      rc=0; "$here/install-server.sh" "$what" "$dir.tmp" >&2 || rc=$?
      if [ "$rc" = 3 ]; then rm -rf "$dir.tmp"; echo -; continue; fi
      [ "$rc" = 0 ] || exit "$rc"
      rm -rf "$dir"; mv "$dir.tmp" "$dir"
    fi ;;
  esac
  echo "$dir/bin"
done
