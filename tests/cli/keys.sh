#!/usr/bin/env bash
# synod keygen / synod pubkey, end to end: file keys and a SoftHSM2 token made
# for this test in a temporary directory.
#   bash tests/cli/keys.sh BUILD_DIR
set -euo pipefail

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
cli_setup keys "${1:-}"

is_pubkey_hex() {
	[[ $1 =~ ^[0-9a-f]{64}$ ]]
}

# ---- file keys ----
key=$tmp/voter.key
run "$synod" keygen "file:$key"
expect_rc 0 "keygen file:"
pk=$(cat "$tmp/out")
is_pubkey_hex "$pk" || fail "keygen printed '$pk', not 64 hex characters"
[ "$(stat -c %a "$key")" = 600 ] || fail "key file mode is $(stat -c %a "$key"), want 600"
[[ $(cat "$key") =~ ^[0-9a-f]{64}$ ]] || fail "key file is not 64 hex characters"

run "$synod" pubkey "file:$key"
expect_rc 0 "pubkey file:"
[ "$(cat "$tmp/out")" = "$pk" ] || fail "pubkey printed $(cat "$tmp/out"), keygen printed $pk"

run "$synod" keygen "file:$key"
expect_rc 1 "keygen over an existing key"
grep -q "refusing to overwrite" "$tmp/err" || fail "keygen overwrite: no clear message"
run "$synod" pubkey "file:$key"
[ "$(cat "$tmp/out")" = "$pk" ] || fail "the refused keygen changed the key"

chmod 644 "$key"
run "$synod" pubkey "file:$key"
expect_rc 1 "pubkey of a mode 0644 key"
[ ! -s "$tmp/out" ] || fail "a refused key still printed a public key"
grep -qF "$key" "$tmp/err" || fail "mode error does not name the file"
grep -q "0644" "$tmp/err" || fail "mode error does not say the mode found"
grep -q "chmod 600" "$tmp/err" || fail "mode error does not say the fix"
chmod 600 "$key"

# RFC 8032 TEST 1: a seed file gives its published public key.
seed=$tmp/seed
echo 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60 >"$seed"
chmod 600 "$seed"
test1_pk=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a
run "$synod" keygen "file:$tmp/test1.key" --seed-file "$seed"
expect_rc 0 "keygen --seed-file"
[ "$(cat "$tmp/out")" = "$test1_pk" ] || fail "seed-file keygen gave $(cat "$tmp/out")"
cmp -s "$seed" "$tmp/test1.key" || fail "the key file does not hold the seed"

# Usage errors exit 2.
for args in "keygen" "pubkey" "keygen --bogus file:$tmp/x" "keygen file:$tmp/x file:$tmp/y" \
	"keygen file:$tmp/x --seed-file" "pubkey file:$key extra"; do
	# shellcheck disable=SC2086 # split on purpose
	run "$synod" $args
	expect_rc 2 "synod $args"
	grep -q "usage:" "$tmp/err" || fail "synod $args: no usage line"
done
run "$synod" pubkey "nosuch:thing"
expect_rc 1 "unknown URI scheme"
grep -q "file:" "$tmp/err" || fail "unknown scheme: message does not say what is supported"

# ---- a SoftHSM2 token ----
mkdir "$tmp/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$tmp" >"$tmp/softhsm2.conf"
export SOFTHSM2_CONF=$tmp/softhsm2.conf
softhsm2-util --init-token --free --label synod-cli --so-pin 5678 --pin 1234 >/dev/null
printf '1234\n' >"$tmp/pin"
uri="pkcs11:token=synod-cli;object=voter-1?pin-source=file:$tmp/pin"

run "$synod" keygen "$uri"
expect_rc 0 "keygen pkcs11:"
hsm_pk=$(cat "$tmp/out")
is_pubkey_hex "$hsm_pk" || fail "pkcs11 keygen printed '$hsm_pk'"
run "$synod" pubkey "$uri"
expect_rc 0 "pubkey pkcs11:"
[ "$(cat "$tmp/out")" = "$hsm_pk" ] || fail "pkcs11 pubkey $(cat "$tmp/out") != keygen $hsm_pk"

# An independent reader (opensc) sees the same key, non-extractable.
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label synod-cli \
	--login --pin 1234 --list-objects >"$tmp/objects" 2>&1
grep -q "0420$hsm_pk" "$tmp/objects" || fail "pkcs11-tool does not list EC_POINT 04 20 $hsm_pk"
grep -q "never extractable" "$tmp/objects" || fail "pkcs11-tool does not call the key never extractable"

run "$synod" keygen "$uri"
expect_rc 1 "keygen of a duplicate label"
grep -q "already exists" "$tmp/err" || fail "duplicate label: no clear message"

run "$synod" pubkey "pkcs11:token=synod-cli;object=voter-1?pin-value=0000"
expect_rc 1 "wrong PIN"
grep -q "CKR_PIN_INCORRECT" "$tmp/err" || fail "wrong PIN: message lacks CKR_PIN_INCORRECT"

# The same seed in a file and in the token: the same public key.
run "$synod" keygen "pkcs11:token=synod-cli;object=test1?pin-value=1234" --seed-file "$seed"
expect_rc 0 "keygen pkcs11: --seed-file"
[ "$(cat "$tmp/out")" = "$test1_pk" ] || fail "imported seed gave $(cat "$tmp/out")"

echo "keys.sh: all checks passed"
