# Shared by the tests/cli/*.sh scripts (sourced; not a test itself):
#   cli_setup NAME BUILD_DIR   sets $build, $src, $synod and a $tmp removed on exit
#   run CMD...                 stdout/stderr into $tmp/out, $tmp/err; exit status in $rc
#   expect_rc WANT WHAT        expect_err TEXT WHAT        fail MESSAGE

cli_setup() { # NAME BUILD_DIR
	build=$(cd "${2:?usage: $1.sh BUILD_DIR}" && pwd)
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	synod=$build/synod
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/synod-test-$1.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# SoftHSM 2.6.1 leaks ~37 bytes per EdDSA C_SignInit (fixed upstream in
	# SoftHSMv2 #858/#863); keep LeakSanitizer builds from failing on it.
	printf 'leak:libsofthsm2.so\nleak:libcrypto.so\n' >"$tmp/lsan.supp"
	export LSAN_OPTIONS="suppressions=$tmp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
}

fail() {
	echo "FAIL: $*" >&2
	for f in out err; do
		[ -s "$tmp/$f" ] && sed "s/^/  $f: /" "$tmp/$f" >&2
	done
	exit 1
}

run() {
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
}

expect_rc() { # WANT, description
	[ "$rc" -eq "$1" ] || fail "$2: exit $rc, want $1"
}

expect_err() { # TEXT, description
	grep -qF -- "$1" "$tmp/err" || fail "$2: stderr lacks \"$1\""
}
