#!/bin/sh
# run-fuzz.sh HARNESS SEED_DIR SECONDS
# Fuzzes on a scratch copy of the committed seed corpus for a bounded time.
set -eu
harness=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$work/artifacts"
[ -d "$seeds" ] && cp -r "$seeds"/. "$work/corpus/" 2>/dev/null || true
n=$(ls "$work/corpus" | wc -l)
echo "fuzzing $(basename "$harness") for ${seconds}s from $n seeds"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" 2>&1 | tail -n 25
status=$?
# POSIX sh has no pipefail: any artifact means a crash, leak or timeout.
if [ -n "$(ls "$work/artifacts")" ]; then
	echo "FAILED: artifacts:"; ls -l "$work/artifacts"
	for f in "$work/artifacts"/*; do od -An -tx1 "$f" | head -n 8; done
	exit 1
fi
exit $status
