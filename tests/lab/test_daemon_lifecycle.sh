#!/bin/bash
# mipsecd's life cycle in a namespace: SIGHUP reload (a valid change applies,
# a broken file is rejected and the daemon keeps running), mipsecctl reload,
# SIGTERM removes exactly the addresses the daemon added, kill -9 and
# restart, and (as real root) the drop to an unprivileged user.
set -euo pipefail
. "$(dirname "$0")/../../lab/lib.sh"
TOPO="$(dirname "$0")/lifecycle.toml"
SOCK="$LAB_STATE/r1.sock"
CONF="$LAB_STATE/r1.conf"

ctl() { "$MIPSECCTL" -s "$SOCK" "$@"; }
interval_is() { ctl --json show ar | grep -q "\"max_interval_ms\": $1"; }

need "lab up" lab up "$TOPO"
need "daemon answers" ctl status
check "optimistic address added" has_addr r1 eth0 2001:db8:a::100
check "second address added" has_addr r1 eth0 2001:db8:a::101
check "interval as configured" interval_is 200

say "SIGHUP with a valid change"
sed -i 's/max_interval_ms = 200/max_interval_ms = 300/' "$CONF"
kill -HUP "$(lab daemon-pid r1)"
wait_for 10 "reload applied the new interval" interval_is 300
check "log says reloaded" grep -q "configuration reloaded" "$LAB_STATE/r1.log"

say "SIGHUP with a broken file: rejected, old configuration stays"
cp "$CONF" "$LAB_STATE/r1.conf.good"
sed -i 's/max_interval_ms = 300/max_interval_ms = "fast"/' "$CONF"
kill -HUP "$(lab daemon-pid r1)"
wait_for 10 "rejection logged with file:line" \
	grep -q "reload rejected: .*r1.conf:[0-9]*: setting 'ar.interfaces\[0\].max_interval_ms'" \
	"$LAB_STATE/r1.log"
check "still running" ctl status
check "old interval kept" interval_is 300
check_not "mipsecctl reload reports the failure" ctl reload
cp "$LAB_STATE/r1.conf.good" "$CONF"
sed -i 's/max_interval_ms = 300/max_interval_ms = 250/' "$CONF"
check "mipsecctl reload succeeds" ctl reload
check "mipsecctl reload applied" interval_is 250

say "SIGTERM: clean shutdown removes the daemon's addresses, keeps the lab's"
check "address present before" has_addr r1 eth0 2001:db8:a::101
lab stop r1
check_not "address 100 removed" has_addr r1 eth0 2001:db8:a::100
check_not "address 101 removed" has_addr r1 eth0 2001:db8:a::101
check "topology address kept" has_addr r1 eth0 2001:db8:a::1
check_not "control socket removed" test -e "$SOCK"
check "role stop logged" grep -q "stopped advertising" "$LAB_STATE/r1.log"

say "kill -9 and restart"
need "start again" lab start r1
pid=$(lab daemon-pid r1)
lab kill r1
check_not "killed" pid_alive "$pid"
need "restart after kill -9 (stale socket taken over)" lab start r1
check "answers after restart" ctl status
check "takes over the addresses the killed instance left" \
	grep -q "already present, taking it over.*2001:db8:a::100" "$LAB_STATE/r1.log"

if [ "$LAB_MODE" = root ]; then
	say "privilege drop to nobody (real root only)"
	lab stop r1
	sed -i 's/node = { name = "r1"; };/node = { name = "r1"; user = "nobody"; };/' "$CONF"
	need "start as nobody" lab start r1
	pid=$(lab daemon-pid r1)
	check "runs as nobody" test "$(stat -c %U /proc/$pid)" = nobody
	check "kept only CAP_NET_ADMIN and CAP_NET_RAW" \
		grep -qP "^CapEff:\t0000000000003000$" "/proc/$pid/status"
	check "answers as nobody" ctl status
	wait_for 10 "still advertising" bash -c \
		"$MIPSECCTL -s $SOCK --json stats | grep -q '\"mipsec_ar_ra_sent_total\": [1-9]'"
	lab stop r1
	check_not "addresses removed after the drop" has_addr r1 eth0 2001:db8:a::100
	check_not "socket removed after the drop" test -e "$SOCK"
fi
finish
