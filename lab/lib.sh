# shellcheck shell=bash
# Helpers for lab test scripts (sourced; the scripts run through lab/run-test,
# which sets LAB, LAB_STATE, MIPSECD and MIPSECCTL).
#
# Checks do not stop the script: each failure is printed and counted, and
# `finish` exits non-zero if any check failed.  Use `need` for the steps
# without which the rest would be meaningless.

: "${LAB:?LAB not set (run through lab/run-test)}"
: "${LAB_STATE:?LAB_STATE not set}"
LAB_FAILS=0
LAB_CHECKS=0
LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
declare -A LAB_PIDS=()

lab() { "$LAB" "$@"; }
say() { printf '== %s\n' "$*"; }
fail() { LAB_FAILS=$((LAB_FAILS + 1)); printf 'FAIL: %s\n' "$*"; }

# check DESC CMD...: run CMD quietly, count a failure if it fails.
# All checks return 0 so that `set -e` scripts go on; LAB_OK says how the
# last one went.
LAB_OK=1
check() {
	local desc=$1; shift
	local out
	LAB_CHECKS=$((LAB_CHECKS + 1))
	LAB_OK=1
	if ! out=$("$@" 2>&1); then
		LAB_OK=0
		fail "$desc"
		[ -z "$out" ] || printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
	fi
	return 0
}

# check_not DESC CMD...: CMD must fail.
check_not() {
	local desc=$1; shift
	LAB_CHECKS=$((LAB_CHECKS + 1))
	LAB_OK=1
	if "$@" >/dev/null 2>&1; then
		LAB_OK=0
		fail "$desc"
	fi
	return 0
}

# need DESC CMD...: as check, but give up on the whole test on failure.
need() {
	check "$@"
	if [ "$LAB_OK" = 0 ]; then
		printf 'ABORT: cannot go on without: %s\n' "$1"
		finish
	fi
}

# wait_for TIMEOUT DESC CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local timeout=$1 desc=$2; shift 2
	local deadline=$(( $(date +%s%N) + timeout * 1000000000 ))
	LAB_CHECKS=$((LAB_CHECKS + 1))
	LAB_OK=1
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s%N)" -ge "$deadline" ]; then
			LAB_OK=0
			fail "$desc (not true after ${timeout}s)"
			return 0
		fi
		sleep 0.1
	done
	return 0
}

# nsx NODE CMD...: run CMD in NODE's namespace, without starting Python
# each time (lab exec does the same through setns).
nsx() {
	local node=$1; shift
	if [ -z "${LAB_PIDS[$node]:-}" ]; then
		LAB_PIDS[$node]=$(lab pid "$node") || return 1
	fi
	nsenter --net="/proc/${LAB_PIDS[$node]}/ns/net" "$@"
}

# ping_ok NODE ADDR: one echo request/reply (IPv4 or IPv6).
ping_ok() { nsx "$1" ping -n -q -c 1 -W 2 "$2" >/dev/null 2>&1; }

# mac NODE IFACE / lladdr NODE IFACE: read from the node's kernel.
mac() {
	nsx "$1" ip -j link show dev "$2" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'
}
lladdr() {
	nsx "$1" ip -j -6 addr show dev "$2" |
		/usr/bin/python3 -c 'import json,sys
print([a["local"] for i in json.load(sys.stdin) for a in i.get("addr_info", [])
       if a.get("local", "").startswith("fe80:")][0])'
}

# has_addr NODE IFACE ADDR: ADDR is configured on IFACE.
has_addr() {
	local out
	out=$(nsx "$1" ip -o addr show dev "$2") || return 1
	grep -qF -- " $3/" <<< "$out"
}

# skip_without_daemon: exit 77 (skipped) unless MIPSECD and MIPSECCTL name
# executables.
skip_without_daemon() {
	local v
	for v in MIPSECD MIPSECCTL; do
		if [ -z "${!v:-}" ] || [ ! -x "${!v}" ]; then
			echo "SKIP: $v not set or not executable"; exit 77
		fi
	done
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# listening NODE PATTERN: a TCP socket on NODE listens where PATTERN says.
listening() { nsx "$1" ss -Hltn | grep -q -- "$2"; }

# tcp_copy FROM TO FAMILY DST PORT SRC FILE SECONDS: FILE over one TCP
# connection from FROM (bound to SRC unless empty) to DST:PORT in TO
# (FAMILY 4 or 6; an IPv6 DST in brackets) within SECONDS; checks the send
# and that TO received the same bytes.
tcp_copy() {
	local from=$1 to=$2 fam=$3 dst=$4 port=$5 src=$6 file=$7 secs=$8 srv
	local got=$LAB_STATE/recv-$port.bin
	rm -f "$got"
	nsx "$to" timeout $((secs + 10)) socat -u "TCP$fam-LISTEN:$port,bind=$dst,reuseaddr" \
		"CREATE:$got" &
	srv=$!
	wait_for 5 "$to listens on $port" listening "$to" ":$port"
	check "send $(stat -c %s "$file") bytes $from -> $to (IPv$fam)" nsx "$from" \
		timeout "$secs" socat -u "OPEN:$file" "TCP$fam:$dst:$port${src:+,bind=$src}"
	wait $srv || true
	check "$from -> $to (IPv$fam) content intact" cmp -s "$file" "$got"
}

finish() {
	if [ "$LAB_FAILS" -gt 0 ]; then
		printf 'RESULT: %d of %d checks failed\n' "$LAB_FAILS" "$LAB_CHECKS"
		exit 1
	fi
	printf 'RESULT: all %d checks passed\n' "$LAB_CHECKS"
	exit 0
}

# pid_alive PID: the process exists and is not a zombie (processes the lab
# started are reparented, and their reaper may be slow).
pid_alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pids_gone WHAT PID...: one check per PID that it no longer runs.
pids_gone() {
	local what=$1 p; shift
	for p in "$@"; do
		LAB_CHECKS=$((LAB_CHECKS + 1))
		if pid_alive "$p"; then fail "$what $p still alive"; fi
	done
}
