#!/usr/bin/env bash
# install-client.sh PREFIX: builds pg_dump, psql and libpq of the client version in
# ./versions from PostgreSQL's source (as Debian distributes it) into PREFIX (bin, lib). One
# client of the newest major dumps and restores every older server. Downloads are verified by
# sha256 and kept in $PG_DOWNLOADS (default: a temporary directory). Needs curl, bzip2, gcc,
# make, bison, flex, perl (the source tarball ships no generated parsers), libssl-dev and
# zlib1g-dev; about two minutes on two cores.
set -euo pipefail
prefix="$1"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
line="$(awk '$1=="client"' "$here/versions")"
version="$(echo "$line" | awk '{print $2}')"
sum="$(echo "$line" | awk '{print $3}')"
major="${version%%.*}"

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
file="${PG_DOWNLOADS:-$tmp}/postgresql-${major}_$version.orig.tar.bz2"
mkdir -p "$(dirname "$file")"
fetch "http://deb.debian.org/debian/pool/main/p/postgresql-$major/postgresql-${major}_$version.orig.tar.bz2" "$sum" "$file"

tar -C "$tmp" -xjf "$file"
cd "$tmp/postgresql-$version"
./configure --prefix="$prefix" --without-readline --without-icu --with-openssl --with-zlib \
  --without-zstd --without-lz4 --without-llvm >"$tmp/configure.log" 2>&1 ||
  { tail -30 "$tmp/configure.log" >&2; exit 1; }
jobs="$(nproc 2>/dev/null || echo 2)"
# Headers generated from the backend (utils/errcodes.h and friends) first: the subdirectory
# builds below would otherwise race to make them under -j and can fail on a fresh tree.
make -s -C src/backend generated-headers >"$tmp/make.log" 2>&1 || { tail -30 "$tmp/make.log" >&2; exit 1; }
for d in src/interfaces/libpq src/bin/pg_dump src/bin/psql; do
  make -s -j"$jobs" -C "$d" install >"$tmp/make.log" 2>&1 || { tail -30 "$tmp/make.log" >&2; exit 1; }
done
"$prefix/bin/pg_dump" --version >/dev/null
