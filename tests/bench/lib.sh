# Sourced by the scripts in tests/bench/: installs what is missing, then
# configures and builds one benchmark target in $BUILD_DIR (default build/),
# a RelWithDebInfo build unless that directory already says otherwise.
. tests/deps.sh
synod_deps_install

bench_build() { # target
	build=${BUILD_DIR:-build}
	if [ -f "$build/CMakeCache.txt" ]; then
		cmake -S . -B "$build" >/dev/null
	else
		cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	fi
	cmake --build "$build" --target "$1" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
	if grep -Eq '^(CMAKE_BUILD_TYPE:[A-Z]+=Debug|SYNOD_SANITIZE:BOOL=ON)$' "$build/CMakeCache.txt"; then
		echo "warning: $build is a Debug or sanitizer build; these numbers understate the machine" >&2
	fi
}
