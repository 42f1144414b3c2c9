#!/usr/bin/env bash
# kill -9 of the primary under a trickle of submissions: a view change
# happens (read from /metrics), submissions go on committing at the other
# three, the restarted replica catches up, and all four report the same
# status for every request that got 200/202 (POST answers only once the
# request has committed, so an accepted request survives the kill: some of
# them were accepted by the primary itself just before it died).
#   bash tests/integration/failover.sh BUILD_DIR [SEED]
set -euo pipefail
. "$(dirname "$0")/lib.bash"
it_setup failover "${1:-}"
seed=${2:-$RANDOM}
echo "seed $seed"
RANDOM=$seed
it_cluster 4
for i in 0 1 2 3; do it_start "$i"; done
for i in 0 1 2 3; do it_wait_healthy "$i"; done
it_wait_for 20 bash -c "[ \"\$(curl -s $(it_url 1 /metrics) | awk '\$1==\"synod_app_log_time_ms\"{print \$2}')\" -gt 0 ]" ||
	fail "no TICK committed"
it_note "cluster up"
primary=$(it_get 1 /healthz && printf '%s' "$body" | sed -n 's/.*"primary":\([0-9]*\).*/\1/p')
ids=()
submit() { # K TO: 503s (no quorum yet, a view change) are retried
	it_submit "$2" "$(it_request "sys-f$1-$seed" 120000)" 30 ||
		fail "submit $1 to $2: $status $body"
	ids+=("$id")
}
other=$(((primary + 1) % 4))
for k in $(seq 1 6); do
	submit "$k" "$([ $((k % 2)) = 0 ] && echo "$primary" || echo "$other")"
	sleep 0.1
done
before=${#ids[@]}
# the kill point, within the trickle, from the seed
sleep "0.$((RANDOM % 10))"
it_kill9 "$primary"
it_note "killed primary $primary after $before requests"
for k in $(seq 7 15); do submit "$k" "$other"; sleep 0.2; done
it_note "submitted to $other"
vc() { [ "$(it_metric "$other" synod_pbft_view_changes_total)" -gt 0 ]; }
it_wait_for 30 vc || fail "no view change after the primary died"
alive_open() { # every request open at the three replicas still running
	local i k
	for i in 0 1 2 3; do
		[ "$i" = "$primary" ] && continue
		k=$(it_statuses "$i" "${ids[@]}" | grep -cx open || true)
		[ "$k" = ${#ids[@]} ] || return 1
	done
}
it_wait_for 60 alive_open || fail "requests not committed at the live three"
it_note "all committed at the live three"
# the old primary comes back and catches up
it_start "$primary"
it_wait_healthy "$primary"
it_note "restarted $primary"
for k in $(seq 16 20); do submit "$k" "$primary"; sleep 0.1; done
it_note "submitted to $primary"
it_wait_for 90 it_all_statuses_are open "${ids[@]}" || {
	for i in 0 1 2 3; do echo "replica $i: $(it_statuses "$i" "${ids[@]}" | tr '\n' ' ')"; done
	fail "the accepted requests differ between the replicas"
}
echo "requests accepted before the kill: $before, in all: ${#ids[@]}; POSTs retried: ${it_retries:-0}"
echo "view changes at replica $other: $(it_metric "$other" synod_pbft_view_changes_total)," \
	"state transfers at replica $primary: $(it_metric "$primary" synod_pbft_state_transfers_total)"
it_pass
