#!/usr/bin/env bash
# image.sh: builds the Dockerfile (`make image` calls it) with docker when a daemon answers,
# else with podman (installed and configured with runc when missing, as tests need on a fresh
# machine). VERSION and REPOSITORY are baked in as `make build` bakes them.
#
# The result is tagged by a hash of everything it is built from (the build context the
# .dockerignore lets through, the build arguments, the base images), and a build is skipped
# when that tag exists. The image is also tagged REPOSITORY:VERSION. Prints the hash tag.
#
# The Dockerfile names public base images. When they cannot be pulled (no registry reachable),
# local ones are made under the same names from Debian's packages (debootstrap), with the
# machine's Go and trust store in the Go build image.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
REPOSITORY="${REPOSITORY:-ghcr.io/schemahook/schemahook}"
log() { echo "image: $*" >&2; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >&2
}

# The engine: a docker daemon if one answers, else podman.
if docker info >/dev/null 2>&1; then
  engine=docker
else
  engine=podman
  if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
    log "installing podman and runc"
    apt_install podman runc
  fi
  # crun, podman's default runtime, fails on these machines (hybrid cgroups, rlimits it may
  # not raise); runc with cgroupfs works.
  if [ "$(id -u)" = 0 ] && [ ! -f /etc/containers/containers.conf ]; then
    mkdir -p /etc/containers
    cat >/etc/containers/containers.conf <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  fi
fi

exists() { "$engine" image inspect "$1" >/dev/null 2>&1; }

# local_debian SUITE NAME: a Debian base image from debootstrap, trimmed like the official slim
# images, with the machine's extra CA certificates (the build fetches over TLS through it).
local_debian() {
  local suite="$1" name="$2" tmp
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  tmp="$(mktemp -d)"
  log "making $name with debootstrap (about a minute)"
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$tmp/root" http://deb.debian.org/debian >"$tmp/log" 2>&1 ||
    { tail -20 "$tmp/log" >&2; rm -rf "$tmp"; return 1; }
  cp /usr/local/share/ca-certificates/*.crt "$tmp/root/usr/local/share/ca-certificates/" 2>/dev/null || true
  chroot "$tmp/root" update-ca-certificates >/dev/null
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-exclude /usr/share/man/*' \
    'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
    >"$tmp/root/etc/dpkg/dpkg.cfg.d/slim"
  find "$tmp/root/usr/share/doc" "$tmp/root/usr/share/man" -mindepth 1 -delete
  find "$tmp/root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/"*.bin
  tar -C "$tmp/root" -c . | "$engine" import --change 'CMD ["bash"]' - "$name" >/dev/null
  rm -rf "$tmp"
}

# local_golang NAME DEBIAN: the Go build image: DEBIAN with gcc (cgo) and this machine's Go,
# which must be the version the image name asks for.
local_golang() {
  local name="$1" base="$2" want have goroot tmp
  want="go$(echo "$name" | sed -E 's/.*:([0-9.]+)-.*/\1/')"
  have="$(go env GOVERSION)"
  [ "$want" = "$have" ] || { log "$name: this machine has $have, not $want"; return 1; }
  goroot="$(go env GOROOT)"
  tmp="$(mktemp -d)"
  log "making $name from $base and $goroot"
  cp -a "$goroot" "$tmp/go"
  cat >"$tmp/Dockerfile" <<EOF
FROM $base
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev make git \\
 && rm -rf /var/lib/apt/lists/*
COPY go /usr/local/go
ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
  "$engine" build --network host -q -t "$name" "$tmp" >/dev/null || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
}

# Base images: pulled when a registry answers, else made here under the same names.
bases="$(awk 'toupper($1)=="FROM" && $2 !~ /^--/ {print $2}' Dockerfile | sort -u)"
stages="$(awk 'toupper($1)=="FROM" && toupper($3)=="AS" {print $4}' Dockerfile)"
for b in $bases; do
  echo "$stages" | grep -qx "$b" && continue
  full="docker.io/library/$b"
  exists "$full" && continue
  timeout 300 "$engine" pull -q "$full" >/dev/null 2>&1 && continue
  case "$b" in
    debian:*-slim) local_debian "$(echo "$b" | sed -E 's/debian:(.*)-slim/\1/')" "$full" ;;
    golang:*-*)
      suite="${b##*-}"
      exists "docker.io/library/debian:$suite-slim" || local_debian "$suite" "docker.io/library/debian:$suite-slim"
      local_golang "$full" "docker.io/library/debian:$suite-slim" ;;
    *) log "cannot pull or make base image $b"; exit 1 ;;
  esac
done

# The inputs' hash: the files the build context holds (.dockerignore applied, as the engine
# applies it), the build arguments, the base images and the architecture.
ignored() {
  local f="$1" p
  while read -r p; do
    case "$p" in ''|'#'*) continue ;; esac
    if [[ "$p" == '**/'* ]]; then
      p="${p#'**/'}"
      # shellcheck disable=SC2053 # the pattern is a glob on purpose
      [[ "$f" == $p || "$f" == */$p || "$f" == $p/* || "$f" == */$p/* ]] && return 0
    else
      [[ "$f" == $p || "$f" == $p/* ]] && return 0
    fi
  done <.dockerignore
  return 1
}
files="$(git ls-files -co --exclude-standard | sort | while read -r f; do
  if [ -f "$f" ] && ! ignored "$f"; then echo "$f"; fi; done)"
hash="$(
  {
    # shellcheck disable=SC2086 # one file name a line, none with spaces
    sha256sum $files
    # shellcheck disable=SC2086
    stat -c '%a %n' $files
    echo "VERSION=$VERSION REPOSITORY=$REPOSITORY arch=$(uname -m)"
    for b in $bases; do echo "$stages" | grep -qx "$b" || "$engine" image inspect --format '{{.Id}}' "docker.io/library/$b"; done
  } | sha256sum | cut -c1-16
)"
tag="localhost/schemahook:build-$hash"

if exists "$tag"; then
  log "$tag is up to date"
else
  log "building $tag (VERSION=$VERSION REPOSITORY=$REPOSITORY)"
  start=$SECONDS
  "$engine" build --network host --build-arg VERSION="$VERSION" --build-arg REPOSITORY="$REPOSITORY" \
    -t "$tag" . >&2
  exists "$tag" || { log "build of $tag failed"; exit 1; }
  log "built $tag in $((SECONDS - start))s"
fi
"$engine" tag "$tag" "$REPOSITORY:$VERSION"
echo "$tag"
