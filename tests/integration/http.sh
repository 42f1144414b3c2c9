#!/usr/bin/env bash
# One coordinator of a four-replica cluster, alone: HTTP works without peers
# and a POST answers 503 + Retry-After at once (no quorum reachable), not
# after the commit wait.
#   bash tests/integration/http.sh BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/lib.bash"
it_setup http "${1:-}"
it_cluster 4
it_start 0
it_wait_healthy 0

it_post 0 /v1/requests "$(it_request sys-h 60000)"
[ "$status" = 503 ] || fail "POST without peers: $status $body"
printf '%s' "$headers" | grep -qi '^retry-after: 1' || fail "503 without Retry-After: $headers"
printf '%s' "$body" | grep -q 'no quorum' || fail "503 body: $body"

it_pass
