#!/usr/bin/env bash
# Replicas 0..2 of a 4-replica cluster run genuinely. Two real daemons then
# speak the real handshake and lie: an impostor at replica 3's address whose
# key is not replica 3's (its own cluster.json names its key), and a
# stranger from another cluster claiming index 3. Both are refused at the
# handshake (counted in /metrics), never count as peers, and the three
# genuine replicas still commit.
#   bash tests/integration/handshake.sh BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/lib.bash"
it_setup handshake "${1:-}"
it_cluster 4
for i in 0 1 2; do it_start "$i"; done
for i in 0 1 2; do it_wait_healthy "$i"; done

# the impostor: replica 3's address, a key of its own
"$synod" keygen "file:$tmp/impostor.key" >/dev/null
real=$("$synod" pubkey "file:$tmp/replica-3.key")
fake=$("$synod" pubkey "file:$tmp/impostor.key")
sed "s/$real/$fake/" "$tmp/cluster.json" >"$tmp/cluster-impostor.json"
sed -e "s#$tmp/cluster.json#$tmp/cluster-impostor.json#" -e "s#replica-3.key#impostor.key#" \
	"$tmp/c3.json" >"$tmp/c3-impostor.json"
cp "$tmp/c3-impostor.json" "$tmp/c3.json"
it_start 3
it_wait_healthy 3

# the stranger: another cluster, index 3, its own port
mkdir "$tmp/other"
oargs=()
for i in 0 1 2 3; do
	"$synod" keygen "file:$tmp/other/r$i.key" >/dev/null
	oargs+=(--replica "r$i=file:$tmp/other/r$i.key")
done
for i in $(seq 0 32); do
	oargs+=(--seat "s$i=$("$synod" pubkey "file:$tmp/seat-$i.key")")
done
"$synod" cluster init --policy "$src/policies/default.json" --out "$tmp/other/cluster.json" "${oargs[@]}" \
	>/dev/null
sport=$((it_port_base + 4))
ss -Hltn "sport = :$sport" | grep -q . && fail "port $sport taken"
sed -e "s#$tmp/cluster.json#$tmp/other/cluster.json#" -e "s#file:$tmp/replica-3.key#file:$tmp/other/r3.key#" \
	-e "s#$tmp/d3#$tmp/stranger#" -e "s#\"listen\": \"127.0.0.1:[0-9]*\"#\"listen\": \"127.0.0.1:$sport\"#" \
	"$tmp/c3.json" >"$tmp/c4.json"
sed -i -e "s#$tmp/cluster-impostor.json#$tmp/other/cluster.json#" -e "s#file:$tmp/impostor.key#file:$tmp/other/r3.key#" "$tmp/c4.json"
it_start 4

refused() { # I REASON
	[ "$(it_metric "$1" "synod_peer_messages_rejected_total{reason=\"$2\"}")" -gt 0 ]
}
for i in 0 1 2; do
	it_wait_for 20 refused "$i" handshake_signature || fail "replica $i: impostor not refused"
	it_wait_for 20 refused "$i" handshake_listener_signature ||
		fail "replica $i: impostor's listener not refused"
	it_wait_for 20 refused "$i" handshake_cluster || fail "replica $i: stranger not refused"
done
# the genuine replicas commit without replica 3, and never count it
it_wait_for 20 bash -c "[ \"\$(curl -s $(it_url 0 /metrics) | awk '\$1==\"synod_app_log_time_ms\"{print \$2}')\" -gt 0 ]" ||
	fail "no TICK committed"
req=$(it_request sys-h 60000)
it_post 0 /v1/requests "$req"
[ "$status" = 202 ] || fail "submit: $status $body"
id=$(printf '%s' "$body" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
for i in 0 1 2; do
	it_wait_for 20 it_status_is open "$i" "$id" || fail "replica $i: not committed"
	[ "$(it_metric "$i" synod_peers_connected)" = 2 ] || fail "replica $i counts the impostor"
	[ "$(it_metric "$i" synod_peers_inbound)" = 2 ] || fail "replica $i takes the impostor's connection"
done
it_status_is http-404 3 "$id" || fail "the impostor committed"
it_pass
