# Functions the scripts in this directory share; source it.

# fetch URL SHA256 FILE: downloads URL to FILE unless FILE is already there with that sha256
# (a cache, e.g. $PG_DOWNLOADS), then fails unless FILE has it.
fetch() {
  local url="$1" sum="$2" file="$3"
  if [ ! -f "$file" ] || ! echo "$sum  $file" | sha256sum -c --quiet - 2>/dev/null; then
    curl -fsSL --retry 3 -o "$file.part" "$url"
    mv "$file.part" "$file"
  fi
  echo "$sum  $file" | sha256sum -c --quiet - || { echo "$(basename "$0"): checksum mismatch for $file" >&2; exit 2; }
}

# apt_install PACKAGE...: installs the Debian packages that are missing (with sudo when not
# root), logging to stderr.
apt_install() {
  local need="" p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
  done
  [ -n "$need" ] || return 0
  echo "postgres: installing$need" >&2
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need >&2
}
