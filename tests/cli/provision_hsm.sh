#!/usr/bin/env bash
# deploy/provision-hsm end to end on a SoftHSM2 token directory made for this
# test: the URI and public key it prints work with `synod pubkey`, no PIN is
# ever on a command line (xtrace shows every command the script runs), an
# existing object and a group-readable PIN file are refused.
#   bash tests/cli/provision_hsm.sh BUILD_DIR
set -euo pipefail

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
cli_setup provision_hsm "${1:-}"
prov=$src/deploy/provision-hsm

pin=pin-$RANDOM-7d1e
so_pin=so-$RANDOM-9c4a
printf '%s\n' "$pin" >"$tmp/pin"
printf '%s\n' "$so_pin" >"$tmp/so-pin"
chmod 600 "$tmp/pin" "$tmp/so-pin"

run bash -x "$prov" --token voter-07 --object seat-7 --pin-file "$tmp/pin" \
	--so-pin-file "$tmp/so-pin" --tokendir "$tmp/hsm" --build "$build"
expect_rc 0 "provision-hsm"
uri=$(sed -n 's/^uri=//p' "$tmp/out")
pk=$(sed -n 's/^pubkey=//p' "$tmp/out")
conf=$(sed -n 's/^softhsm2_conf=//p' "$tmp/out")
[ "$uri" = "pkcs11:token=voter-07;object=seat-7?pin-source=file:$tmp/pin" ] || fail "uri is '$uri'"
[[ $pk =~ ^[0-9a-f]{64}$ ]] || fail "pubkey is '$pk'"
[ "$conf" = "$tmp/hsm/softhsm2.conf" ] || fail "softhsm2_conf is '$conf'"
# xtrace printed every command line the script ran: no PIN among them.
if grep -qF -e "$pin" -e "$so_pin" "$tmp/err"; then
	fail "a PIN appeared on a command line"
fi
grep -q "synod-hsm-init --module" "$tmp/err" || fail "the trace does not show the commands"

SOFTHSM2_CONF=$conf run "$synod" pubkey "$uri"
expect_rc 0 "synod pubkey on the provisioned key"
[ "$(cat "$tmp/out")" = "$pk" ] || fail "pubkey $(cat "$tmp/out") != provisioned $pk"

# A second key in the same token (the token exists: reused).
run "$prov" --token voter-07 --object seat-8 --pin-file "$tmp/pin" --so-pin-file "$tmp/so-pin" \
	--tokendir "$tmp/hsm" --build "$build"
expect_rc 0 "a second object in the token"
pk8=$(sed -n 's/^pubkey=//p' "$tmp/out")
[ "$pk8" != "$pk" ] || fail "two objects, one key"

# The same object again: refused, the key unchanged.
run "$prov" --token voter-07 --object seat-7 --pin-file "$tmp/pin" --so-pin-file "$tmp/so-pin" \
	--tokendir "$tmp/hsm" --build "$build"
expect_rc 1 "an existing object"
expect_err "already exists" "existing object"
SOFTHSM2_CONF=$conf run "$synod" pubkey "$uri"
[ "$(cat "$tmp/out")" = "$pk" ] || fail "the refused run changed the key"

# A PIN file others can read is refused before anything is made.
chmod 640 "$tmp/pin"
run "$prov" --token voter-08 --object seat-9 --pin-file "$tmp/pin" --so-pin-file "$tmp/so-pin" \
	--tokendir "$tmp/hsm" --build "$build"
expect_rc 1 "group-readable PIN file"
expect_err "chmod 600" "PIN file mode"
chmod 600 "$tmp/pin"

# Usage errors exit 2.
run "$prov" --token voter-07
expect_rc 2 "missing arguments"
run "$prov" --token 'bad;label' --object x --pin-file "$tmp/pin" --so-pin-file "$tmp/so-pin"
expect_rc 1 "a label that would break the URI"
echo "provision_hsm: ok"
