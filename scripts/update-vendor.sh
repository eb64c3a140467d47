#!/usr/bin/env bash
# Refresh the vendored CSS basis in static/vendor/ from the npm registry.
# Usage: scripts/update-vendor.sh [pico-version]
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-2.1.1}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@picocss/pico@${version}" >/dev/null && tar xzf picocss-pico-*.tgz)
mkdir -p static/vendor/pico
cp "$work/package/css/pico.min.css" static/vendor/pico/pico.min.css
cp "$work/package/LICENSE.md" static/vendor/pico/LICENSE.md
echo "$version" > static/vendor/pico/VERSION
echo "Pico CSS $version vendored into static/vendor/pico/"
