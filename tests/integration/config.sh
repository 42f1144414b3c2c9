#!/usr/bin/env bash
# synod-coordinator refuses a bad config at start with exit 1 and a message
# naming the file and the key (or the knob to turn): unknown key, wrong type,
# out of range, a bad address, self outside peers, a signer that is not the
# replica's key, a policy whose snapshot is too big for the wire. Usage: 2.
#   bash tests/integration/config.sh BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/lib.bash"
it_setup config "${1:-}"
it_cluster 4

# The config c0.json with a jq-like edit done by sed; runs the daemon, which
# must exit 1 at once with a message containing every NEEDLE.
refused() { # NAME SED_EXPR NEEDLE...
	local name=$1 expr=$2 rc=0 out
	shift 2
	sed "$expr" "$tmp/c0.json" >"$tmp/$name.json"
	out=$(timeout 20 "$coord" --config "$tmp/$name.json" 2>&1) || rc=$?
	[ "$rc" = 1 ] || fail "$name: exit $rc, want 1: $out"
	local needle
	for needle in "$@"; do
		printf '%s' "$out" | grep -qF -- "$needle" || fail "$name: no \"$needle\" in: $out"
	done
	echo "$name: $(printf '%s' "$out" | tail -n 1 | cut -c1-160)"
}

refused unknown 's/"tick_ms": 200/"tick_ms": 200, "tick_msec": 1/' unknown.json tick_msec
refused type 's/"tick_ms": 200/"tick_ms": "fast"/' type.json 'key \"tick_ms\"'
refused range 's/"tick_ms": 200/"tick_ms": 5/' range.json 'key \"tick_ms\"'
refused window 's/"timeout_ms_max": 3000}/"timeout_ms_max": 3000, "window": 100000}/' \
	window.json 'key \"pbft.window\"'
refused listen 's/"listen": "[^"]*"/"listen": "127.0.0.1"/' listen.json 'key \"listen\"'
refused self 's/"self": 0/"self": 7/' self.json 'key \"self\"'
refused signer "s#replica-0.key#replica-1.key#" signer.json 'key \"signer\"' "not replica 0"
refused missing 's/"cluster": "[^"]*",//' missing.json 'key \"cluster\"'

# a policy that keeps 4096 requests: STATE over the wire limit; the message
# names the knob
sed 's/"retained_max": 256/"retained_max": 4096/' "$src/policies/default.json" >"$tmp/big.json"
keys=()
for i in 0 1 2 3; do keys+=(--replica "replica-$i=file:$tmp/replica-$i.key"); done
for i in $(seq 0 32); do keys+=(--seat "seat-$i=file:$tmp/seat-$i.key"); done
"$synod" cluster init --policy "$tmp/big.json" --out "$tmp/cluster-big.json" "${keys[@]}" \
	>/dev/null || fail "cluster init"
refused policy "s#$tmp/cluster.json#$tmp/cluster-big.json#" cluster-big.json \
	"requests.retained_max (4096" "wire limit"

rc=0
"$coord" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "no arguments: exit $rc, want 2"
it_pass
