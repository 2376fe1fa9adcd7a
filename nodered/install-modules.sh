#!/bin/sh
# Compose's one-shot `nodered-modules` service: install the node packages the flows use into the
# Node-RED user directory (/data) of the official image, from the committed package-lock.json.
# Node-RED itself is a peer dependency and is left out: the image brings it (same version, checked
# by tests/test_compose.py). Skipped when the lock file has not changed since the last install.
set -eu
lock=/labdcs/nodered/package-lock.json
stamp=/data/node_modules/.labdcs-lock
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "node packages up to date ($want)"
  exit 0
fi
cp /labdcs/nodered/package.json "$lock" /data/
cd /data
npm ci --omit=peer --omit=dev --no-audit --no-fund --ignore-scripts --cache /data/.npm --loglevel=error
echo "$want" > "$stamp"
echo "installed the node packages of $lock"
