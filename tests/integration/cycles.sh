#!/usr/bin/env bash
# Cycles of kill -9 and restart of a random coordinator under a trickle of
# submissions to random coordinators. After each restart the replica must
# catch up (its last executed seq reaches what a live one had executed when
# it came back). At the end nothing accepted is lost (every request that got
# 200/202 is open at all four) and all four report the same stable
# checkpoint (seq and digest). The victims and pauses come from the seed.
#   bash tests/integration/cycles.sh BUILD_DIR [SEED]   (SYNOD_IT_CYCLES=20)
set -euo pipefail
. "$(dirname "$0")/lib.bash"
it_setup cycles "${1:-}"
seed=${2:-$RANDOM}
cycles=${SYNOD_IT_CYCLES:-20}
echo "seed $seed (replay: bash $0 BUILD_DIR $seed), $cycles cycles"
RANDOM=$seed
it_cluster 4
for i in 0 1 2 3; do it_start "$i"; done
for i in 0 1 2 3; do it_wait_healthy "$i"; done
it_wait_for 20 bash -c "[ \"\$(curl -s $(it_url 0 /metrics) | awk '\$1==\"synod_app_log_time_ms\"{print \$2}')\" -gt 0 ]" ||
	fail "no TICK committed"
it_note "cluster up"

# The load: one POST at a time to a random replica; accepted ids are kept.
# At most 200 requests, so that none is evicted (retained_max 256).
loader() {
	local k=0 out code
	while [ ! -e "$tmp/stop" ] && [ "$k" -lt 200 ]; do
		k=$((k + 1))
		out=$(curl -s -m 20 -w '\n%{http_code}' -H 'Content-Type: application/json' \
			--data-binary "$(it_request "sys-c$k-$seed" 600000)" \
			"$(it_url $((RANDOM % 4)) /v1/requests)") || out=$'\n000'
		code=${out##*$'\n'}
		case $code in
		200 | 202) printf '%s\n' "$out" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' >>"$tmp/accepted" ;;
		503 | 000) ;; # no quorum yet, or the replica died: not accepted
		*) echo "request $k: $out" >>"$tmp/unexpected" ;;
		esac
		sleep 0.3
	done
}
: >"$tmp/accepted"
loader &
loader_pid=$!

executed() { # I: last executed seq
	it_get "$1" /healthz
	printf '%s' "$body" | sed -n 's/.*"last_executed":\([0-9]*\).*/\1/p'
}
caught_up() { # I SEQ
	local e
	e=$(executed "$1")
	[ -n "$e" ] && [ "$e" -ge "$2" ]
}
for c in $(seq 1 "$cycles"); do
	v=$((RANDOM % 4))
	pause=0.$((RANDOM % 10))
	it_kill9 "$v"
	sleep "$pause"
	it_start "$v"
	it_wait_healthy "$v" 60
	live=$(((v + 1 + RANDOM % 3) % 4))
	target=$(executed "$live")
	[ -n "$target" ] || fail "replica $live unreachable"
	it_wait_for 90 caught_up "$v" "$target" ||
		fail "cycle $c: replica $v stuck at $(executed "$v") below $target"
	it_note "cycle $c: replica $v killed, back after ${pause}s, caught up to $target;" \
		"$(wc -l <"$tmp/accepted") accepted"
done
touch "$tmp/stop"
wait "$loader_pid"
[ ! -e "$tmp/unexpected" ] || fail "unexpected answers: $(head -n 3 "$tmp/unexpected")"
mapfile -t ids <"$tmp/accepted"
[ "${#ids[@]}" -ge "$cycles" ] || fail "only ${#ids[@]} requests accepted in $cycles cycles"
it_wait_for 120 it_all_statuses_are open "${ids[@]}" || {
	for i in 0 1 2 3; do echo "replica $i: $(it_statuses "$i" "${ids[@]}" | sort | uniq -c | tr '\n' ' ')"; done
	fail "an accepted request is missing or differs"
}
it_note "${#ids[@]} accepted requests open at all four"

checkpoint() { # I: "seq digest"
	it_get "$1" /healthz
	printf '%s' "$body" | sed -n 's/.*"checkpoint":{"seq":\([0-9]*\),"digest":"\([0-9a-f]*\)"}.*/\1 \2/p'
}
same_checkpoint() {
	local c0 i
	c0=$(checkpoint 0)
	[ -n "$c0" ] && [ "${c0%% *}" -gt 0 ] || return 1
	for i in 1 2 3; do [ "$(checkpoint "$i")" = "$c0" ] || return 1; done
	echo "checkpoint at all four: $c0"
}
it_wait_for 60 same_checkpoint || fail "checkpoints differ: $(for i in 0 1 2 3; do checkpoint "$i"; done | tr '\n' ';')"
it_pass
