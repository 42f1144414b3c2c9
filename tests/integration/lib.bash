# Shared by tests/integration/*.sh (sourced): real synod-coordinator processes
# on loopback (TESTING.md). Every daemon PID is remembered and stopped in the
# EXIT trap (TERM, then KILL after a bounded wait); the temp dir is removed on
# success and kept (and printed) on failure; every wait has a deadline.
#   it_setup NAME BUILD_DIR     $build $src $synod $coord $tmp
#   it_cluster N                keys, cluster.json, ports, configs c0..c(N-1)
#   it_start I / it_stop I / it_kill9 I / it_wait_healthy I [SECONDS]
#   it_get I PATH / it_post I PATH BODY   (body and status in $body / $status)
#   it_metric I NAME            one sample of /metrics (0 when absent)
#   it_wait_for SECONDS CMD...  polls CMD until it succeeds
#   fail MESSAGE                prints the daemons' last log lines, exits 1

it_setup() { # NAME BUILD_DIR
	build=$(cd "${2:?usage: $1.sh BUILD_DIR}" && pwd)
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	synod=$build/synod
	coord=$build/synod-coordinator
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/synod-it-$1.XXXXXX")
	it_pids=()
	it_ok=0
	trap it_cleanup EXIT
	it_t0=$SECONDS
}

it_cleanup() {
	local i
	for i in "${!it_pids[@]}"; do
		it_stop "$i" >/dev/null 2>&1 || true
	done
	if [ "$it_ok" = 1 ]; then
		rm -rf "$tmp"
	else
		echo "kept: $tmp" >&2
	fi
}

it_note() { # MESSAGE: progress with the seconds since the start
	echo "[$((SECONDS - it_t0)) s] $*"
}

it_pass() {
	it_ok=1
	echo "PASS ($((SECONDS - it_t0)) s)"
}

fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$tmp"/log*; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
	done
	exit 1
}

# A block of N free loopback ports: a random base, each port probed.
it_ports() { # N
	local n=$1 try base p ok
	for try in $(seq 1 50); do
		base=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		ok=1
		for p in $(seq "$base" $((base + n - 1))); do
			if ss -Hltn "sport = :$p" | grep -q .; then
				ok=0
				break
			fi
		done
		if [ "$ok" = 1 ]; then
			it_port_base=$base
			return 0
		fi
	done
	fail "no free port block"
}

it_cluster() { # N
	local n=$1 i args=() peers=""
	for i in $(seq 0 $((n - 1))); do
		"$synod" keygen "file:$tmp/replica-$i.key" >/dev/null
		args+=(--replica "replica-$i=file:$tmp/replica-$i.key")
	done
	for i in $(seq 0 32); do
		"$synod" keygen "file:$tmp/seat-$i.key" >/dev/null
		args+=(--seat "seat-$i=file:$tmp/seat-$i.key")
	done
	"$synod" cluster init --policy "$src/policies/default.json" --out "$tmp/cluster.json" \
		"${args[@]}" >/dev/null || fail "cluster init"
	it_n=$n
	it_ports "$n"
	for i in $(seq 0 $((n - 1))); do
		peers="$peers${peers:+,}\"127.0.0.1:$((it_port_base + i))\""
	done
	for i in $(seq 0 $((n - 1))); do
		cat >"$tmp/c$i.json" <<-JSON
		{"data_dir": "$tmp/d$i", "listen": "127.0.0.1:$((it_port_base + i))",
		 "cluster": "$tmp/cluster.json", "self": $i,
		 "signer": "file:$tmp/replica-$i.key", "peers": [$peers],
		 "tick_ms": 200,
		 "pbft": {"timeout_ms_min": 300, "timeout_ms_max": 3000}}
		JSON
	done
}

it_url() { # I PATH
	echo "http://127.0.0.1:$((it_port_base + $1))$2"
}

it_start() { # I
	setsid "$coord" --config "$tmp/c$1.json" >>"$tmp/log$1" 2>&1 &
	it_pids[$1]=$!
}

it_stop() { # I: TERM, then KILL after 10 s
	local pid=${it_pids[$1]:-} k
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for k in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null
	it_rc=$?
	unset "it_pids[$1]"
	return 0
}

it_kill9() { # I
	local pid=${it_pids[$1]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "it_pids[$1]"
}

it_get() { # I PATH
	local out
	out=$(curl -s -m 5 -w '\n%{http_code}' "$(it_url "$1" "$2")") || out=$'\n000'
	status=${out##*$'\n'}
	body=${out%$'\n'*}
}

# POST waits for the commit (up to 10 s, then 503): curl allows 20 s.
# The response headers go to $headers.
it_post() { # I PATH BODY
	local out
	out=$(curl -s -m 20 -D "$tmp/headers" -w '\n%{http_code}' \
		-H 'Content-Type: application/json' \
		--data-binary "$3" "$(it_url "$1" "$2")") || out=$'\n000'
	status=${out##*$'\n'}
	body=${out%$'\n'*}
	headers=$(cat "$tmp/headers" 2>/dev/null || true)
}

# POSTs a body until it is ordered (200/202: sets $id) or refused; a 503 or
# a failed connection is retried (re-sending the same body is safe).
it_submit() { # I BODY [TRIES]
	local k
	for k in $(seq 1 "${3:-10}"); do
		it_post "$1" /v1/requests "$2"
		case $status in
		200 | 202)
			id=$(printf '%s' "$body" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
			return 0 ;;
		503 | 000)
			it_retries=$((${it_retries:-0} + 1))
			sleep 1 ;;
		*) return 1 ;;
		esac
	done
	return 1
}

it_wait_for() { # SECONDS CMD...
	local deadline=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$deadline" ]; do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

it_healthy() { # I
	it_get "$1" /healthz
	[ "$status" = 200 ]
}

it_wait_healthy() { # I [SECONDS]
	it_wait_for "${2:-20}" it_healthy "$1" || fail "replica $1 not healthy"
}

it_metric() { # I NAME (with labels, exactly as printed)
	it_get "$1" /metrics
	local v
	v=$(printf '%s\n' "$body" | awk -v k="$2" '$1 == k {print $2}')
	echo "${v:-0}"
}

# A request with a deadline DELTA ms after now (canonical JSON).
it_request() { # SYSTEM_ID DELTA_MS
	local now
	now=$(date +%s%3N)
	printf '{"artifacts":[{"name":"model.onnx","sha256":"%s"}],"deadline_ms":%s,"policy":"eu-ai-act/high-risk","submitter":"it@example.org","system":{"id":"%s","version":"1.0"}}' \
		"$(printf '%s' "$1" | sha256sum | cut -c1-64)" $((now + $2)) "$1"
}

it_status() { # I ID: the request's status word, or the HTTP code
	it_get "$1" "/v1/requests/$2"
	if [ "$status" = 200 ]; then
		printf '%s\n' "$body" | sed -n 's/.*"status":"\([^"]*\)".*/\1/p'
	else
		echo "http-$status"
	fi
}

# The statuses of many requests at replica I in one curl: one word a line
# ("http-404" style for an error body, "none" when unreachable).
it_statuses() { # I ID...
	local i=$1 id urls=()
	shift
	for id in "$@"; do urls+=("$(it_url "$i" "/v1/requests/$id")"); done
	curl -s -m 20 -w '\n' "${urls[@]}" 2>/dev/null |
		sed 's/.*"status":"\([^"]*\)".*/\1/; s/^{"error".*/http-error/' || echo none
}

# True when every ID has status WANT at every replica.
it_all_statuses_are() { # WANT ID...
	local want=$1 i k
	shift
	for i in $(seq 0 $((it_n - 1))); do
		k=$(it_statuses "$i" "$@" | grep -cx "$want" || true)
		[ "$k" = $# ] || return 1
	done
}

it_status_is() { # WANT I ID
	[ "$(it_status "$2" "$3")" = "$1" ]
}

it_all_status_is() { # WANT ID
	local i
	for i in $(seq 0 $((it_n - 1))); do
		it_status_is "$1" "$i" "$2" || return 1
	done
}
