#!/usr/bin/env bash
# synod cluster init / show, end to end: keys made with synod keygen (file
# signers, public keys in hex, and one seat inside a SoftHSM2 token made for
# this test), a members file, every refusal with its message, and a bundle
# check against a cluster file the command wrote.
#   bash tests/cli/cluster.sh BUILD_DIR
set -euo pipefail

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
cli_setup cluster "${1:-}"
policy=$src/policies/default.json

# 4 replica keys (file signers) and 33 seats: 31 as hex public keys, one as a
# file URI, one inside a SoftHSM2 token when SoftHSM2 is installed.
args=()
for i in 0 1 2 3; do
	"$synod" keygen "file:$tmp/replica-$i.key" >/dev/null
	args+=(--replica "replica-$i=file:$tmp/replica-$i.key")
done
: >"$tmp/members"
for i in $(seq 0 30); do
	pk=$("$synod" keygen "file:$tmp/seat-$i.key")
	echo "seat seat-$i $pk  # operator $i" >>"$tmp/members"
done
"$synod" keygen "file:$tmp/seat-31.key" >/dev/null
echo "seat seat-31 file:$tmp/seat-31.key" >>"$tmp/members"
if [ -f /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null; then
	mkdir "$tmp/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$tmp/tokens" >"$tmp/softhsm2.conf"
	export SOFTHSM2_CONF=$tmp/softhsm2.conf
	softhsm2-util --init-token --free --label synod-cluster --so-pin 5678 --pin 1234 >/dev/null
	seat32='pkcs11:token=synod-cluster;object=seat-32?pin-value=1234'
	"$synod" keygen "$seat32" >/dev/null
else
	echo "note: SoftHSM2 not installed; seat 32 is a file key" >&2
	"$synod" keygen "file:$tmp/seat-32.key" >/dev/null
	seat32="file:$tmp/seat-32.key"
fi

run "$synod" cluster init --policy "$policy" --out "$tmp/cluster.json" "${args[@]}" \
	--members-file "$tmp/members" --seat "seat-32=$seat32"
expect_rc 0 "cluster init"
grep -q "4 replicas (f=1), 33 seats, threshold 22, policy default" "$tmp/out" ||
	fail "init summary"
[ "$(stat -c %a "$tmp/cluster.json")" = 644 ] || fail "cluster.json mode"
run "$synod" cluster show "$tmp/cluster.json"
expect_rc 0 "cluster show"
grep -q "replicas        4 (f=1, quorum 3)" "$tmp/out" || fail "show replicas"
grep -q "seats           33, threshold 22" "$tmp/out" || fail "show seats"
# the keys in the file are the signers' public keys, in order
grep -qF "\"name\": \"replica-2\", \"pubkey\": \"$("$synod" pubkey "file:$tmp/replica-2.key")\"" \
	"$tmp/cluster.json" || fail "replica-2 key"
grep -qF "\"name\": \"seat-32\", \"pubkey\": \"$("$synod" pubkey "$seat32")\"" \
	"$tmp/cluster.json" || fail "seat-32 key"
[ "$(grep -c '"name": "seat-' "$tmp/cluster.json")" = 33 ] || fail "33 seats"

# never overwrites without --force; the same cluster id reproduces the file
id=$(sed -n 's/.*"cluster_id": "\([0-9a-f]*\)".*/\1/p' "$tmp/cluster.json")
run "$synod" cluster init --policy "$policy" --out "$tmp/cluster.json" "${args[@]}" \
	--members-file "$tmp/members" --seat "seat-32=$seat32"
expect_rc 1 "overwrite"
expect_err "exists; --force replaces it" "overwrite"
cp "$tmp/cluster.json" "$tmp/first.json"
run "$synod" cluster init --policy "$policy" --out "$tmp/cluster.json" "${args[@]}" \
	--members-file "$tmp/members" --seat "seat-32=$seat32" --cluster-id "$id" --force
expect_rc 0 "--force"
cmp -s "$tmp/first.json" "$tmp/cluster.json" || fail "same inputs, same file"
ls "$tmp" | grep -q '\.tmp\.' && fail "temporary file left behind"

# refusals, each with its reason, and nothing written
base=(--policy "$policy" --out "$tmp/bad.json")
run "$synod" cluster init "${base[@]}" "${args[@]:0:6}" --members-file "$tmp/members" \
	--seat "seat-32=$seat32"
expect_rc 1 "3 replicas"
expect_err "3 replicas is not 3f+1" "3 replicas"
run "$synod" cluster init "${base[@]}" "${args[@]}" --members-file "$tmp/members"
expect_rc 1 "32 seats"
expect_err "32 seats given, the policy" "32 seats"
run "$synod" cluster init "${base[@]}" "${args[@]}" --members-file "$tmp/members" \
	--seat "seat-32=file:$tmp/seat-0.key"
expect_rc 1 "duplicate key"
expect_err "repeats seats[0].pubkey" "duplicate key"
run "$synod" cluster init "${base[@]}" "${args[@]}" --members-file "$tmp/members" \
	--seat 'bad name=file:/nonexistent'
expect_rc 1 "missing key file"
expect_err "seat bad name" "missing key file"
run "$synod" cluster init "${base[@]}" "${args[@]}" --members-file "$tmp/members" \
	--seat "seat/32=$seat32"
expect_rc 1 "bad name"
expect_err "seats[32].name" "bad name"
run "$synod" cluster init "${base[@]}" "${args[@]}" --members-file "$tmp/members" \
	--seat "seat-32=abcd"
expect_rc 1 "bad key"
expect_err "neither 64 hex characters nor a file: or pkcs11: URI" "bad key"
echo "voter x y" >"$tmp/bad-members"
run "$synod" cluster init "${base[@]}" "${args[@]}" --members-file "$tmp/bad-members"
expect_rc 1 "bad members line"
expect_err "bad-members:1: \"voter\" is not replica or seat" "bad members line"
run "$synod" cluster init "${base[@]}" "${args[@]}" --members-file "$tmp/members" \
	--seat "seat-32=$seat32" --cluster-id 1234
expect_rc 2 "bad cluster id"
run "$synod" cluster init --out "$tmp/bad.json"
expect_rc 2 "no policy"
run "$synod" cluster init "${base[@]}" --bogus
expect_rc 2 "unknown option"
expect_err "unknown option: --bogus" "unknown option"
[ -e "$tmp/bad.json" ] && fail "a refused init wrote its file"
run "$synod" cluster show "$tmp/members"
expect_rc 1 "show a non-cluster"

# the cluster file of the test vectors round-trips through init
vec=$src/tests/vectors/app
sed -n 's/.*"name": "\(replica-[0-9]*\)", "pubkey": "\([0-9a-f]*\)".*/replica \1 \2/p;
        s/.*"name": "\(seat-[0-9]*\)", "pubkey": "\([0-9a-f]*\)".*/seat \1 \2/p' \
	"$vec/cluster.json" >"$tmp/vec-members"
vid=$(sed -n 's/.*"cluster_id": "\([0-9a-f]*\)".*/\1/p' "$vec/cluster.json")
vec_policy=$tmp/vec-policy.json
sed -n 's/.*"policy": \({.*}\)$/\1/p' "$vec/cluster.json" >"$vec_policy"
run "$synod" cluster init --policy "$vec_policy" --out "$tmp/vec.json" \
	--members-file "$tmp/vec-members" --cluster-id "$vid"
expect_rc 0 "vector cluster"
cmp -s "$vec/cluster.json" "$tmp/vec.json" || fail "the vector cluster.json is not reproduced"
run "$synod" verify "$vec/bundle-approved.json" --cluster "$tmp/vec.json"
expect_rc 0 "verify against the generated cluster"
echo "ok: cluster init/show"
