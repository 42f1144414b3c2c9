# Sourced by tests/run, tests/fuzz/run, tests/bench/* and deploy scripts:
# installs what synod needs on Debian 12 when it is missing (root only).
SYNOD_DEB_PACKAGES="build-essential cmake pkg-config git clang clang-format libclang-rt-14-dev
  libsodium-dev libwebsockets-dev libjson-c-dev libcmocka-dev libpq-dev
  postgresql postgresql-15-pgtap softhsm2 opensc libp11-kit-dev p11-kit curl iproute2"

synod_deps_install() {
	local missing=()
	for p in $SYNOD_DEB_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "synod: missing packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	echo "synod: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}
