#!/usr/bin/env bash
# Installs the checkers pinned here (package.json, package-lock.json: Redocly's CLI, Ajv)
# outside the checkout, in ~/.cache/aidmon/node-tools-<lock digest>/, unless they are there
# already, and prints that directory. Needs Node.js 20.19+ and npm.
# scripts/test-tools.sh runs it; so do the tests that use them (tests/unit/schemas/node_tools.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
digest="$(sha256sum "$here/package-lock.json" | cut -c1-16)"
dir="$HOME/.cache/aidmon/node-tools-$digest"
if [ ! -x "$dir/node_modules/.bin/redocly" ]; then
    command -v npm >/dev/null || { echo "node-tools: npm is missing (install Node.js 20.19+ with npm)" >&2; exit 1; }
    mkdir -p "$(dirname "$dir")"
    # into a temporary sibling, then renamed: an interrupted run never leaves half an install
    tmp="$(mktemp -d "$dir.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    cp "$here/package.json" "$here/package-lock.json" "$tmp/"
    (cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error >&2)
    mv -T "$tmp" "$dir" 2>/dev/null || true  # another run may have got there first
fi
echo "$dir"
