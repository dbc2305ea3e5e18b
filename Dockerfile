# The one schemahook image: Argo CD's repo-server sidecar (argocd-cmp-server runs
# `schemahook generate`) and the PreSync hook Job (`schemahook migrate apply`, with the
# Postgres 15 server binaries for the throwaway dev database).
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/schemahook/schemahook:v0.1.0 .
#
# The binary is built by `make build`: the Makefile is the one place the build flags live.
# e2e/image checks this file without Docker by running the build stage's steps.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION and REPOSITORY are baked into the binary: the hook Job runs the image the sidecar runs.
ARG VERSION=dev
ARG REPOSITORY=ghcr.io/schemahook/schemahook
RUN make build VERSION="$VERSION" REPOSITORY="$REPOSITORY" BIN=bin/schemahook

FROM debian:bookworm-slim
# Debian's postgresql-common would create a cluster at install time; the dev database is
# created per run in an emptyDir instead.
RUN groupadd --gid 999 schemahook \
 && useradd --uid 999 --gid 999 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin schemahook \
 && mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/schemahook.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
ENV SCHEMAHOOK_PG_BIN=/usr/lib/postgresql/15/bin
COPY --from=build /src/bin/schemahook /usr/local/bin/schemahook
# 999 is the uid Argo CD requires of plugin sidecars.
USER 999:999
ENTRYPOINT ["/usr/local/bin/schemahook"]
