# The one place the build flags live: CI, the Dockerfile and the scripts all build through here.
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REPOSITORY ?= ghcr.io/schemahook/schemahook
LDFLAGS    := -s -w -X github.com/schemahook/schemahook/internal/version.Version=$(VERSION) \
              -X github.com/schemahook/schemahook/internal/version.Repository=$(REPOSITORY)
BIN        ?= bin/schemahook

.PHONY: build image demo test bench ldflags
# Linked statically (cgo is only for pg_query's C parser; the pure Go resolver and user
# lookup need no libc at run time): the process starts without the dynamic loader, about
# 5 ms sooner, which is a tenth of a render of a thousand files.
STATIC     := -linkmode external -extldflags -static
build:
	CGO_ENABLED=1 go build -trimpath -tags netgo,osusergo -ldflags '$(LDFLAGS) $(STATIC)' -o $(BIN) ./cmd/schemahook

# The image (Dockerfile) with the same version and repository baked in; docker or podman,
# whichever the machine has. Cached by the hash of its inputs.
image:
	VERSION='$(VERSION)' REPOSITORY='$(REPOSITORY)' bash scripts/image.sh

# Prints the flags, for builds that do not go through make (the Dockerfile).
ldflags:
	@echo '$(LDFLAGS)'

demo: build
	bash scripts/demo.sh

test:
	bash scripts/test.sh

bench: build
	bash bench/run.sh
