#!/usr/bin/env bash
# Runs a command up to three times, 10 s apart: for installs from a package index, whose
# answers are sometimes cut off in transit (pip then fails on half a JSON page).
set -uo pipefail
for attempt in 1 2 3; do
    "$@" && exit 0
    status=$?
    [ "$attempt" = 3 ] && break
    echo "retry: '$*' failed (exit $status), attempt $((attempt + 1)) of 3 in 10 s" >&2
    sleep 10
done
echo "retry: '$*' failed three times" >&2
exit "$status"
