#!/usr/bin/env bash
# Four coordinators on loopback: a request submitted over HTTP to one of them
# is committed at all four (open everywhere), and with a short deadline it
# becomes EXPIRED at all four (no voters exist yet). The HTTP errors: 400
# naming the field, 413, 404.
#   bash tests/integration/cluster.sh BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/lib.bash"
it_setup cluster "${1:-}"
it_cluster 4
for i in 0 1 2 3; do it_start "$i"; done
for i in 0 1 2 3; do it_wait_healthy "$i"; done
# log time starts with the primary's first TICK: wait until it has one
it_wait_for 20 bash -c "[ \"\$(curl -s $(it_url 0 /metrics) | awk '\$1==\"synod_app_log_time_ms\"{print \$2}')\" -gt 0 ]" ||
	fail "no TICK committed"

# a request with a 4 s deadline, submitted to replica 2 (a backup): 202
# comes once it has committed there, so it is open there at once
req=$(it_request sys-a 4000)
it_post 2 /v1/requests "$req"
[ "$status" = 202 ] || fail "submit: $status $body"
printf '%s' "$body" | grep -q '"status":"open"' || fail "202 before the commit: $body"
id=$(printf '%s' "$body" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
[ "$id" = "$(printf '%s' "$req" | sha256sum | cut -c1-64)" ] || fail "id is not SHA-256 of the body"
[ "$(it_status 2 "$id")" = open ] || fail "202 but not open at the replica that answered"
# the latency histograms count it: commit (POST to commit, here) and WAL
[ "$(it_metric 2 synod_commit_latency_seconds_count)" = 1 ] || fail "commit latency not counted"
[ "$(it_metric 2 'synod_commit_latency_seconds_bucket{le="+Inf"}')" = 1 ] || fail "no +Inf bucket"
[ "$(it_metric 2 synod_wal_fsync_latency_seconds_count)" -gt 0 ] || fail "WAL fsyncs not timed"
echo "commit latency at replica 2: $(it_metric 2 synod_commit_latency_seconds_sum) s;" \
	"WAL fsyncs <= 5 ms: $(it_metric 2 'synod_wal_fsync_latency_seconds_bucket{le="0.005"}')" \
	"of $(it_metric 2 synod_wal_fsync_latency_seconds_count)"
# the same body again: already ordered, 200 with the same id
it_post 1 /v1/requests "$req"
[ "$status" = 200 ] && printf '%s' "$body" | grep -q "\"id\":\"$id\"" ||
	fail "re-submit: $status $body"
it_wait_for 20 it_all_status_is open "$id" || fail "not open at all four"
it_wait_for 30 it_all_status_is EXPIRED "$id" || fail "not EXPIRED at all four"
for i in 0 1 2 3; do
	[ "$(it_metric "$i" synod_peers_connected)" = 3 ] || fail "replica $i peers"
done

# errors
it_post 1 /v1/requests '{"artifacts":[],"deadline_ms":1}'
[ "$status" = 400 ] || fail "bad request: $status"
printf '%s' "$body" | grep -q 'artifacts\|field' || fail "400 names no field: $body"
it_post 1 /v1/requests "$(head -c 9000 /dev/zero | tr '\0' 'a')"
[ "$status" = 413 ] || fail "big body: $status"
it_get 1 /nope
[ "$status" = 404 ] || fail "unknown route: $status"
it_get 1 "/v1/requests/$(printf '%064d' 0)"
[ "$status" = 404 ] || fail "unknown request: $status"

# no commit possible (two replicas stopped, their connections still up):
# after the bounded wait, 503 + Retry-After saying a re-send is safe; once
# they run again the same body is ordered
kill -STOP "${it_pids[0]}" "${it_pids[3]}"
req=$(it_request sys-b 60000)
it_post 1 /v1/requests "$req"
kill -CONT "${it_pids[0]}" "${it_pids[3]}"
[ "$status" = 503 ] || fail "no quorum to commit: $status $body"
printf '%s' "$headers" | grep -qi '^retry-after: 1' || fail "503 without Retry-After: $headers"
printf '%s' "$body" | grep -q 'same body again is safe' || fail "503 body: $body"
it_submit 1 "$req" 20 || fail "re-submit after the stall: $status $body"
it_wait_for 20 it_all_status_is open "$id" || fail "re-submitted request not open at all four"
[ "$(it_metric 1 'synod_http_submit_waits_total{outcome="timeout"}')" -ge 1 ] ||
	fail "timeout not counted"

# SIGTERM: exit 0
it_stop 3
[ "$it_rc" = 0 ] || fail "replica 3 exit $it_rc after SIGTERM"
it_pass
