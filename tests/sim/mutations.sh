#!/usr/bin/env bash
# Shows that the simulator can fail: for every mutation synod-sim lists (a
# deliberate protocol bug the cores honour, tests/sim/README.md), a run over
# a bounded seed range must stop with a reported violation (exit 1 and a
# VIOLATION line) at a seed that passes without the mutation under the same
# fault mix (--hunt), so the catch is the mutation's doing and not some other
# bug's. Mutations run JOBS at a time; each run stops at its first violation.
#   tests/sim/mutations.sh SYNOD_SIM [SEEDS [COORDINATORS [JOBS]]]
set -u
sim=${1:?usage: mutations.sh path/to/synod-sim [seeds] [coordinators] [jobs]}
seeds=${2:-300}
n=${3:-4}
jobs=${4:-2}
mutations=$("$sim" --list-mutations) || exit 2
start=$SECONDS

# Prints the first seed in first..seeds where mutation $1 is caught and the
# same seed passes unmutated; returns 1 when there is none.
hunt() {
	local m=$1 first=1 out rc line seed
	while [ "$first" -le "$seeds" ]; do
		out=$("$sim" --seeds "$first..$seeds" --coordinators "$n" --mutate "$m" 2>&1)
		rc=$?
		line=$(grep -m1 '^VIOLATION' <<<"$out")
		if [ "$rc" -ne 1 ] || [ -z "$line" ]; then
			return 1
		fi
		seed=$(sed -E 's/^VIOLATION seed=([0-9]+) .*/\1/' <<<"$line")
		if "$sim" --seeds "$seed..$seed" --coordinators "$n" --hunt >/dev/null 2>&1; then
			echo "$line"
			return 0
		fi
		echo "  (seed $seed fails without the mutation too: $line)" >&2
		first=$((seed + 1))
	done
	return 1
}

one() {
	local m=$1 line
	if line=$(hunt "$m"); then
		echo "caught $m: $line"
		return 0
	fi
	echo "NOT CAUGHT $m within seeds 1..$seeds"
	return 1
}

export -f hunt one
export sim seeds n
status=0
printf '%s\n' $mutations | xargs -P "$jobs" -I{} bash -c 'one "$1"' _ {} || status=1
echo "mutations: $(wc -w <<<"$mutations") in $((SECONDS - start)) s (seeds 1..$seeds, n=$n, $jobs jobs)"
exit $status
