#!/usr/bin/env bash
# Runs the end-to-end suite (scripts/test.sh calls it): installs etcd when missing, builds
# kube-apiserver and kube-controller-manager once into a cache keyed by e2e/tools/go.sum,
# builds the schemahook binary and the image, then runs the e2e module's tests against them
# (Argo CD v2 code) and the e2e/argocd3 module's (the same stories on Argo CD v3 code).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# etcd: Debian's etcd-server (3.4) is what the API server was tested with.
if ! command -v etcd >/dev/null 2>&1; then
  echo "e2e: installing etcd-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq etcd-server >/dev/null
fi

# The hook Job runs as uid 999 (the image's user); initdb of its dev database needs a passwd
# entry for that uid, as the image has.
if ! getent passwd 999 >/dev/null; then
  useradd --system --uid 999 --user-group --no-create-home --shell /usr/sbin/nologin schemahook
fi

# Control-plane binaries, built once per version set (4.5 + 1.5 minutes cold on 2 cores).
hash="$(sha256sum e2e/tools/go.sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/schemahook-e2e/$hash"
mkdir -p "$cache"
for tool in kube-apiserver kube-controller-manager; do
  if [ ! -x "$cache/$tool" ]; then
    echo "e2e: building $tool into $cache (once)"
    start=$SECONDS
    (cd e2e/tools && go build -trimpath -ldflags='-s -w' -o "$cache/$tool.tmp" "./$tool")
    mv "$cache/$tool.tmp" "$cache/$tool"
    echo "e2e: built $tool in $((SECONDS - start))s"
  fi
done

make -s build

# The image from the Dockerfile (podman or docker; installed when missing), built once per
# content: scripts/image.sh finds it by the hash of its inputs. e2e/image tests it; the
# stories' hook pods run in it.
export SCHEMAHOOK_E2E_VERSION=v0.0.0-e2e SCHEMAHOOK_E2E_REPOSITORY=ghcr.io/schemahook/schemahook
SCHEMAHOOK_E2E_IMAGE="$(VERSION=$SCHEMAHOOK_E2E_VERSION REPOSITORY=$SCHEMAHOOK_E2E_REPOSITORY bash scripts/image.sh)"
export SCHEMAHOOK_E2E_IMAGE
export SCHEMAHOOK_BIN="$root/bin/schemahook"
export SCHEMAHOOK_E2E_ETCD="$(command -v etcd)"
export SCHEMAHOOK_E2E_KUBE_APISERVER="$cache/kube-apiserver"
export SCHEMAHOOK_E2E_KUBE_CONTROLLER_MANAGER="$cache/kube-controller-manager"
export SCHEMAHOOK_E2E_REQUIRE=1
export SCHEMAHOOK_PG_BIN="${SCHEMAHOOK_PG_BIN:-$(bash scripts/postgres/ensure.sh system)}"

# The e2e module runs everything against Argo CD v2 code (argo-cd/v2); e2e/argocd3 is a module
# of its own (argo-cd/v3 pins other k8s.io and gitops-engine versions) that runs the same
# stories (e2e/stories) and its plugin tests against v3 code. Its adapter packages are
# generated from e2e/argocd and e2e/gitopssync first (go run ./gen: the import rewrite).
cd e2e
go vet ./...
go test -count=1 -timeout 45m ./...
cd argocd3
go run ./gen
go vet ./...
go test -count=1 -timeout 30m ./...
