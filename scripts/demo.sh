#!/usr/bin/env bash
# The README's first command: render every built-in example app directory the way the Argo CD
# sidecar does, then run the hook's job (verify, dev replay, lint, apply) against a throwaway
# local Postgres, and show the result. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/schemahook}
export SCHEMAHOOK_PG_BIN="$(bash scripts/postgres/ensure.sh system)"
EXAMPLE=${EXAMPLE:-native}

for dir in examples/*/; do
  name=$(basename "$dir")
  echo "==> schemahook generate $dir  (as the Argo CD sidecar would, app \"$name\")" >&2
  out=$(ARGOCD_APP_NAME="$name" ARGOCD_APP_NAMESPACE=demo ARGOCD_APP_REVISION=0000000 \
        ARGOCD_APP_SOURCE_PATH="${dir%/}" "$BIN" generate "$dir")
  if [ "$name" = "$EXAMPLE" ]; then
    printf '%s\n' "$out"
  fi
  printf '    %s\n' "$(printf '%s\n' "$out" | grep -E '^kind: ' | sort | uniq -c | tr -s ' ' | paste -sd, -)" >&2
done

echo >&2
echo "==> starting a throwaway Postgres (schemahook devdb)" >&2
work=$(mktemp -d); chmod 755 "$work"  # the dev server runs as a non-root uid when we are root
fifo="$work/url"; mkfifo "$fifo"
"$BIN" devdb --dir "$work/pg" >"$fifo" 2>"$work/devdb.log" &
devdb=$!
cleanup() { kill -TERM "$devdb" 2>/dev/null || true; wait "$devdb" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
read -r DATABASE_URL <"$fifo" || { cat "$work/devdb.log" >&2; exit 1; }
export DATABASE_URL

mig="examples/$EXAMPLE/migrations"
echo "==> schemahook migrate apply --dir $mig   (what the PreSync hook Job runs)" >&2
"$BIN" migrate apply --dir "$mig" --termination-log "$work/termination-log"
echo "==> termination message (what Argo CD shows on the hook):" >&2
sed 's/^/    /' "$work/termination-log" >&2
echo "==> schemahook migrate apply again: nothing to do" >&2
"$BIN" migrate apply --dir "$mig" --dev-url none
echo "==> schemahook migrate status" >&2
"$BIN" migrate status --dir "$mig"
