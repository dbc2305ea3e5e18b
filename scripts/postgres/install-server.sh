#!/usr/bin/env bash
# install-server.sh MAJOR PREFIX: installs the Postgres server of MAJOR (see ./versions) into
# PREFIX in Debian's per-major layout (PREFIX/bin, PREFIX/lib, PREFIX/share/postgresql), e.g.
# PREFIX=/usr/lib/postgresql/17. Downloads are verified by sha256 and kept in $PG_DOWNLOADS
# (default: a temporary directory). Exits 3 when MAJOR is not published for this machine's
# architecture. Needs curl, tar, gzip, sha256sum.
set -euo pipefail
major="$1" prefix="$2"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
case "$(uname -m)" in
  x86_64|amd64) arch=x64 col=4 ;;
  aarch64|arm64) arch=arm64 col=5 ;;
  *) echo "install-server: unsupported architecture $(uname -m)" >&2; exit 2 ;;
esac
line="$(awk -v m="$major" '$1=="server" && $2==m' "$here/versions")"
[ -n "$line" ] || { echo "install-server: no Postgres $major in $here/versions" >&2; exit 2; }
version="$(echo "$line" | awk '{print $3}')"
sum="$(echo "$line" | awk -v c="$col" '{print $c}')"
[ "$sum" != "-" ] || { echo "install-server: Postgres $major is not published for linux-$arch" >&2; exit 3; }

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
file="${PG_DOWNLOADS:-$tmp}/linux-$arch-$version.tgz"
mkdir -p "$(dirname "$file")"
fetch "https://registry.npmjs.org/@embedded-postgres/linux-$arch/-/linux-$arch-$version.tgz" "$sum" "$file"

tar -C "$tmp" -xzf "$file" package/native
mkdir -p "$prefix"
cp -a "$tmp/package/native/bin" "$tmp/package/native/lib" "$tmp/package/native/share" "$prefix/"
# The package lists its shared-library links in JSON (its own installer makes them): one
# {"source":"native/lib/libX.so.1.2","target":"native/lib/libX.so.1"} per link.
grep -o '"source":"[^"]*","target":"[^"]*"' "$tmp/package/native/pg-symlinks.json" |
  sed -E 's/"source":"native\/([^"]*)","target":"native\/([^"]*)"/\1 \2/' |
  while read -r src dst; do ln -sfn "$(basename "$src")" "$prefix/$dst"; done
"$prefix/bin/postgres" --version >/dev/null
