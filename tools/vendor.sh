#!/usr/bin/env bash
# Re-fetch the third-party browser assets from the npm registry at their pinned versions, with
# their licences. The results are committed under queue_service/static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=queue_service/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() {  # package version file-in-dist target-dir
  (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && mkdir -p "$1" && tar xzf "$1-$2.tgz" -C "$1")
  mkdir -p "$vendor/$4"
  cp "$tmp/$1/package/$3" "$vendor/$4/"
  cp "$tmp/$1/package/LICENSE" "$vendor/$4/LICENSE"
  echo "$1@$2" > "$vendor/$4/VERSION"
}

fetch socket.io-client 4.8.4 dist/socket.io.min.js socket.io

# test-only (never served): the axe-core accessibility engine the browser tests run in the page
vendor=tests/support/vendor fetch axe-core 4.14.1 axe.min.js axe-core
