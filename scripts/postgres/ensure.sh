#!/usr/bin/env bash
# ensure.sh WHAT...: for tests and the demo on a development machine. WHAT is a server major
# (14..18) or "client"; prints one bin directory per WHAT, installing it first into the cache
# (${XDG_CACHE_HOME:-$HOME/.cache}/schemahook/postgres, keyed by version) when missing. As
# root without XDG_CACHE_HOME the cache is /var/cache/schemahook/postgres instead: servers run
# as an unprivileged user, who cannot enter /root. A major that is not published for this
# architecture prints "-".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "$(id -u)" = 0 ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
  cache=/var/cache/schemahook/postgres
else
  cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/schemahook/postgres"
fi
export PG_DOWNLOADS="$cache/downloads"
mkdir -p "$cache"
for what in "$@"; do
  if [ "$what" = client ]; then
    version="$(awk '$1=="client"{print $2}' "$here/versions")"
    dir="$cache/client-$version"
    if [ ! -x "$dir/bin/pg_dump" ]; then
      need=""
      for p in gcc make bison flex bzip2 curl libssl-dev zlib1g-dev; do
        dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
      done
      if [ -n "$need" ]; then
        echo "postgres: installing build tools:$need" >&2
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
        $SUDO apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >&2
      fi
      echo "postgres: building client tools $version into $dir (once)" >&2
      rm -rf "$dir.tmp"
      "$here/install-client.sh" "$dir.tmp" >&2
      rm -rf "$dir"; mv "$dir.tmp" "$dir"
    fi
  else
    version="$(awk -v m="$what" '$1=="server" && $2==m {print $3}' "$here/versions")"
    [ -n "$version" ] || { echo "postgres: no server $what in $here/versions" >&2; exit 2; }
    dir="$cache/server-$version"
    if [ ! -x "$dir/bin/postgres" ]; then
      echo "postgres: installing server $version into $dir (once)" >&2
      rm -rf "$dir.tmp"
      rc=0; "$here/install-server.sh" "$what" "$dir.tmp" >&2 || rc=$?
      if [ "$rc" = 3 ]; then rm -rf "$dir.tmp"; echo -; continue; fi
      [ "$rc" = 0 ] || exit "$rc"
      rm -rf "$dir"; mv "$dir.tmp" "$dir"
    fi
  fi
  echo "$dir/bin"
done
