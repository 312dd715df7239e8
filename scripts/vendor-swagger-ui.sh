#!/usr/bin/env bash
# Re-vendor Swagger UI (the /docs page's assets) from the npm registry's swagger-ui-dist tarball,
# without installing it (no install scripts run). Usage: scripts/vendor-swagger-ui.sh [VERSION]
set -euo pipefail
VERSION="${1:-5.36.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/api/static/vendor/swagger-ui"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
mkdir -p "$DEST"
FILES=(swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE)
for f in "${FILES[@]}"; do cp "$TMP/package/$f" "$DEST/$f"; done
{
  echo "swagger-ui-dist $VERSION (Apache-2.0), copied unchanged from its npm tarball by"
  echo "scripts/vendor-swagger-ui.sh; served by the API at /docs so the page works offline."
  echo
  (cd "$DEST" && sha256sum "${FILES[@]}")
} >"$DEST/VERSION"
echo "vendored swagger-ui-dist $VERSION into ${DEST#"$ROOT"/}"
