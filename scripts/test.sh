#!/bin/sh
# Runs every mipsec test (unit, conformance, lab, fuzz, interop) from a clean
# checkout: installs what is missing, builds with clang + ASan/UBSan + the
# fuzz harnesses, and runs CTest. Extra arguments go to ctest (e.g. -L unit).
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/deps.sh
build=${MIPSEC_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	-DMIPSEC_SANITIZE=ON -DMIPSEC_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
status=0
ctest --output-on-failure -j"$(nproc)" "$@" || status=$?
echo "test wall time: $(( $(date +%s) - start )) s"
exit $status
