#!/usr/bin/env bash
# WAL damage while a coordinator is stopped: a cut tail is repaired at start
# with one log line saying what was dropped, and the replica catches up; a
# flipped byte in the middle of a segment refuses to start (exit 1) with a
# message naming the segment and the offset, and leaves the file untouched.
#   bash tests/integration/wal.sh BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/lib.bash"
it_setup wal "${1:-}"
it_cluster 4
for i in 0 1 2 3; do it_start "$i"; done
for i in 0 1 2 3; do it_wait_healthy "$i"; done
it_wait_for 20 bash -c "[ \"\$(curl -s $(it_url 0 /metrics) | awk '\$1==\"synod_app_log_time_ms\"{print \$2}')\" -gt 0 ]" ||
	fail "no TICK committed"
ids=()
for k in 1 2 3; do
	it_post 0 /v1/requests "$(it_request "sys-w$k" 60000)"
	[ "$status" = 202 ] || fail "submit: $status"
	ids+=("$(printf '%s' "$body" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')")
done
for id in "${ids[@]}"; do
	it_wait_for 20 it_all_status_is open "$id" || fail "not committed"
done

last_segment() { ls "$tmp/d2/wal/"*.wal | sort | tail -n 1; }

# 1. a cut tail: 5 bytes off the last segment of replica 2
it_stop 2
seg=$(last_segment)
size=$(stat -c %s "$seg")
[ "$size" -gt 200 ] || fail "segment too small to cut ($size bytes)"
truncate -s $((size - 5)) "$seg"
: >"$tmp/log2"
it_start 2
it_wait_healthy 2
grep -q 'torn frame at offset .* cut off' "$tmp/log2" || fail "no line about the cut tail"
[ "$(grep -c 'level=warn comp=wal' "$tmp/log2")" = 1 ] || fail "not one line about the tail"
for id in "${ids[@]}"; do
	it_wait_for 20 it_status_is open 2 "$id" || fail "replica 2 lost $id"
done

# 2. a flipped byte in the middle of a segment: inside its first frame, with
# a whole frame after it (so it cannot pass for a torn tail)
first_frame_end() { # SEGMENT: offset after the first frame
	local len
	len=$(od -An -tu1 -j 52 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
	echo $((52 + 28 + len))
}
two_frames() {
	local seg
	seg=$(last_segment)
	[ "$(stat -c %s "$seg")" -gt $(($(first_frame_end "$seg") + 28)) ]
}
ok=0
for try in $(seq 1 20); do
	it_wait_for 10 two_frames || continue
	it_stop 2
	if two_frames; then
		ok=1
		break
	fi
	it_start 2
	it_wait_healthy 2
done
[ "$ok" = 1 ] || fail "no segment with two frames"
seg=$(last_segment)
end=$(first_frame_end "$seg")
off=$(((52 + end) / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$seg" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$seg" bs=1 seek="$off" conv=notrunc 2>/dev/null
before=$(sha256sum "$seg")
set +e
timeout 20 "$coord" --config "$tmp/c2.json" >"$tmp/refused.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "start on a corrupt WAL: exit $rc, want 1"
grep -q "$(basename "$seg")" "$tmp/refused.out" || fail "message names no segment: $(cat "$tmp/refused.out")"
grep -q 'offset' "$tmp/refused.out" || fail "message names no offset"
[ "$(sha256sum "$seg")" = "$before" ] || fail "the corrupt WAL was changed"
it_pass
