#!/usr/bin/env bash
# The services the tests start themselves, from Debian's packages when missing:
# Java 17 and Maven (a real Kafka broker from its jars), Prometheus with promtool,
# Alertmanager's amtool, and Chromium with its chromedriver (the console's browser tests).
# Needs root (or sudo) for apt-get the first time; quick after.
set -euo pipefail

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)

# Checkers the tests run (Redocly's CLI lints the OpenAPI document, Ajv compiles the JSON
# Schemas strictly), pinned in scripts/node-tools/ and installed with npm into
# ~/.cache/aidmon/. They need Node.js 20.19+ (Debian 12's is 18: take Node.js from nodejs.org
# or NodeSource).
if command -v npm >/dev/null; then
    "$(dirname "$0")/node-tools/install.sh" >/dev/null
else
    echo "test-tools: npm is missing: install Node.js 20.19+ with npm (the OpenAPI and JSON Schema checks need it)" >&2
fi

[ ${#missing[@]} -eq 0 ] && exit 0

echo "test-tools: installing ${missing[*]} with apt-get" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
running_before="$(pgrep -f '^(/usr/bin/)?prometheus(-alertmanager)?( |$)' || true)"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
# the services the packages may have started (the tests run their own, on free ports): only
# those, not a Prometheus that was running on this host before
for pid in $(pgrep -f '^(/usr/bin/)?prometheus(-alertmanager)?( |$)' || true); do
    grep -qx "$pid" <<<"$running_before" || $sudo kill "$pid" || true
done
