# The one schemahook image: Argo CD's repo-server sidecar (argocd-cmp-server runs
# `schemahook generate`) and the PreSync hook Job (`schemahook migrate apply`, with Postgres
# server binaries of every supported major for the throwaway dev database).
#
#   make image VERSION=v0.1.0     # or: docker build --build-arg VERSION=v0.1.0 .
#
# Layout the runtime relies on: servers in Debian's per-major layout
# /usr/lib/postgresql/<major>/{bin,lib,share} (14-18; 15-18 on arm64, where 14 is not
# published), and pg_dump/psql of the newest major with libpq under /usr/local.

# The binary is built by `make build`: the Makefile is the one place the build flags live.
FROM golang:1.26.8-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION and REPOSITORY are baked into the binary: the hook Job runs the image the sidecar runs.
ARG VERSION=dev
ARG REPOSITORY=ghcr.io/schemahook/schemahook
# The build cache outlives the step: a new VERSION relinks instead of recompiling everything.
RUN --mount=type=cache,target=/root/.cache/go-build \
    make build VERSION="$VERSION" REPOSITORY="$REPOSITORY" BIN=bin/schemahook

# Postgres: pinned relocatable server builds per major and a client built from source, both
# verified by sha256 (scripts/postgres/versions), assembled under /out.
FROM debian:trixie-slim AS postgres
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl bzip2 gcc libc6-dev make bison flex perl libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/postgres/ /src/scripts/postgres/
RUN for m in 14 15 16 17 18; do \
      rc=0; /src/scripts/postgres/install-server.sh "$m" "/out/usr/lib/postgresql/$m" || rc=$?; \
      [ "$rc" = 0 ] || [ "$rc" = 3 ] || exit "$rc"; \
    done
# The client's prefix is /usr/local (its binaries find libpq there by rpath).
RUN /src/scripts/postgres/install-client.sh /usr/local \
 && mkdir -p /out/usr/local/bin /out/usr/local/lib \
 && cp -a /usr/local/bin/pg_dump /usr/local/bin/psql /out/usr/local/bin/ \
 && cp -a /usr/local/lib/libpq.so* /out/usr/local/lib/
# Drop what the runtime never uses: static libraries, headers, pkg-config files, the embedded-SQL
# libraries, and procedural languages whose interpreters are not in the image.
RUN cd /out/usr/lib/postgresql \
 && rm -rf */include */lib/pkgconfig */lib/postgresql/pgxs */lib/*.a */lib/libecpg* */lib/libpgtypes* \
 && rm -f */lib/postgresql/*plperl* */lib/postgresql/*plpython* */lib/postgresql/pltcl* \
 && rm -f */share/postgresql/extension/*plperl* */share/postgresql/extension/*plpython* */share/postgresql/extension/pltcl*
# Each major's bin also offers the client tools (Debian's layout has them there): pg_dump and
# psql of the newest major dump and restore every older server.
RUN for d in /out/usr/lib/postgresql/*/bin; do ln -s /usr/local/bin/pg_dump /usr/local/bin/psql "$d/"; done
# The majors bundle identical libraries (ICU data alone is 26 MB): keep one copy, link the rest.
RUN cd /out/usr/lib/postgresql \
 && find . -type f -size +64k -exec sha256sum {} + | sort | awk 'seen[$1]++ {print first[$1], $2; next} {first[$1]=$2}' \
    | while read -r keep dup; do ln -sfr "$keep" "$dup"; done

FROM debian:trixie-slim
# libssl and zlib for the client tools; CA certificates for verify-full connections to targets.
RUN groupadd --gid 999 schemahook \
 && useradd --uid 999 --gid 999 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin schemahook \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3t64 zlib1g \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
COPY --from=postgres /out/ /
COPY --from=build /src/bin/schemahook /usr/local/bin/schemahook
# The dev server's data directory of each major, made once here by initdb with the hook's own
# flags: a Job copies it instead of running initdb (devdb.TemplateDir), about a second of CPU
# less per run with pending migrations, for ~39 MB per major in the image.
RUN for d in /usr/lib/postgresql/*; do install -d -o 999 -g 999 -m 700 "$d/schemahook-pgdata"; done
# 999 is the uid Argo CD requires of plugin sidecars.
USER 999:999
RUN for d in /usr/lib/postgresql/*/bin; do schemahook devdb --init-template "$d" || exit 1; done
ENTRYPOINT ["/usr/local/bin/schemahook"]
