# shellcheck shell=bash
# shellcheck disable=SC2034  # TOPO, HA, CN are for the scripts that source this
# Helpers shared by the Mobile IPv6 lab tests (tests/lab/test_mip6_*.sh) and
# bench/handover_bench.sh; sourced after lab/lib.sh.  The network is
# lab/topologies/fig1-mip6.toml: ha1 = HA (2001:db8:8::1), mn4 = MN with
# home address 2001:db8:8::4, cn = correspondent 2001:db8:7::c.

PY=/usr/bin/python3
TOPO=${MIP6_TOPO:-$LAB_SRC/lab/topologies/fig1-mip6.toml}
STREAM=("$PY" "$LAB_SRC/tests/lab/mip6_stream.py")
HOA=2001:db8:8::4
HA=2001:db8:8::1
CN=2001:db8:7::c

# mip6_preflight: skip (77) unless the binaries exist and carry every role
# the topology runs.
mip6_preflight() {
	local r probe
	skip_without_daemon
	probe=$LAB_STATE/probe.conf
	for r in ar ha mn cn; do
		printf 'node = { name = "probe"; };\nroles = [ "%s" ];\n' "$r" > "$probe"
		if "$MIPSECD" -n -c "$probe" 2>&1 | grep -q "unknown role '$r'"; then
			echo "SKIP: this mipsecd has no $r role (issue 4 needs ar, ha, mn and cn)"
			exit 77
		fi
	done
	rm -f "$probe"
}

ctl() { local n=$1; shift; "$MIPSECCTL" -s "$LAB_STATE/$n.sock" "$@"; }

# counter NODE NAME: a counter's value (0 when absent).
counter() {
	ctl "$1" stats | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}

# jtest NODE PYEXPR ARGS...: `mipsecctl --json ARGS` parsed into d; exit
# status from the Python expression.
jtest() {
	local node=$1 expr=$2; shift 2
	ctl "$node" --json "$@" | "$PY" -c "import json, sys
d = json.load(sys.stdin)
sys.exit(0 if ($expr) else 1)"
}

# jget NODE PYEXPR ARGS...: print the expression's value.
jget() {
	local node=$1 expr=$2; shift 2
	ctl "$node" --json "$@" | "$PY" -c "import json, sys
d = json.load(sys.stdin)
print($expr)"
}

# mip6_ike_topology [CHILD_REKEY_S [IKE_REKEY_S [CHILD_REKEY_BYTES]]]: the
# test certificates (tests/lab/pki.sh) in $PKI and the FIG. 1 topology with
# IPsec keyed by IKEv2 (tests/lab/mip6_ike_topo.py) in $MIP6_TOPO.
mip6_ike_topology() {
	command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
	PKI=$LAB_STATE/pki
	mkdir -p "$PKI"
	need "certificates" bash "$LAB_SRC/tests/lab/pki.sh" "$PKI"
	chmod -R a+rX "$PKI"
	MIP6_TOPO=$LAB_STATE/fig1-mip6-ike.toml
	need "IKE topology" "$PY" "$LAB_SRC/tests/lab/mip6_ike_topo.py" "$TOPO" "$MIP6_TOPO" "$PKI" "$@"
}

MN_STATE='[r for r in d["roles"] if r["name"] == "mn"][0]["state"]'
mn_bound() { jtest mn4 "${MN_STATE}[\"state\"] == \"bound\"" status; }
mn_coa() { jget mn4 "${MN_STATE}[\"care_of_address\"]" status; }
mn_at_home() { jtest mn4 "${MN_STATE}[\"at_home\"]" status; }
# mn_bound_at PREFIX: bound with a care-of address starting with PREFIX.
mn_bound_at() {
	jtest mn4 "${MN_STATE}[\"state\"] == \"bound\" and str(${MN_STATE}[\"care_of_address\"]).startswith(\"$1\")" status
}
# ha_binding_at PREFIX: ha1 binds the HoA to a care-of address starting with PREFIX.
ha_binding_at() {
	jtest ha1 "any(b[\"home_address\"] == \"$HOA\" and b[\"care_of_address\"].startswith(\"$1\") for b in d)" show bindings
}
ha_no_binding() {
	jtest ha1 "not any(b[\"home_address\"] == \"$HOA\" for b in d)" show bindings
}

# stream_start PORT: TCP + UDP probe stream cn -> [HoA]:PORT, every 2 ms.
# Sets STREAM_LOG (receiver log) and STREAM_STOP (stop file).
stream_start() {
	local port=$1
	STREAM_LOG=$LAB_STATE/stream-$port.log
	STREAM_STOP=$LAB_STATE/stream-$port.stop
	STREAM_OUT=$LAB_STATE/stream-$port.client
	rm -f "$STREAM_STOP"
	nsx mn4 "${STREAM[@]}" server --bind "$HOA" --port "$port" --log "$STREAM_LOG" \
		> "$LAB_STATE/stream-$port.server" 2>&1 &
	STREAM_SERVER=$!
	wait_for 10 "stream receiver listening on [$HOA]:$port" grep -q listening "$STREAM_LOG"
	nsx cn "${STREAM[@]}" client --to "$HOA" --port "$port" --interval-ms 2 \
		--stop-file "$STREAM_STOP" > "$STREAM_OUT" 2>&1 &
	STREAM_CLIENT=$!
	wait_for 10 "TCP stream cn -> [$HOA]:$port established" grep -q accepted "$STREAM_LOG"
}

# stream_flowing_since NS: a TCP record arrived after NS.
stream_flowing_since() { "${STREAM[@]}" since "$STREAM_LOG" "$1" t; }
probes_flowing_since() { "${STREAM[@]}" since "$STREAM_LOG" "$1" u; }

# stream_stop: close the stream; the receiver must have every record in
# order and the client a clean close.
stream_stop() {
	local rc=0 sent got
	touch "$STREAM_STOP"
	wait "$STREAM_CLIENT" || rc=$?
	LAB_CHECKS=$((LAB_CHECKS + 1))
	if [ "$rc" != 0 ]; then
		fail "TCP stream client failed (rc $rc): $(cat "$STREAM_OUT")"
	fi
	rc=0
	wait "$STREAM_SERVER" || rc=$?
	sent=$(awk '$1 == "sent" { print $2 }' "$STREAM_OUT")
	got=$(awk '$1 == "eof" { print $2 " " $3 }' "$STREAM_LOG")
	LAB_CHECKS=$((LAB_CHECKS + 1))
	if [ "$rc" != 0 ] || [ "$got" != "$sent 0" ]; then
		fail "TCP stream receiver: rc $rc, sent '$sent', received/errors '$got' $(grep -E '^(bad|error)' "$STREAM_LOG" | head -3 | tr '\n' ' ')"
	else
		echo "TCP stream: $sent records, all delivered in order"
	fi
}

# move_to LINK LABEL: move mn4 and record the move for `mip6_stream.py gaps`.
MOVES=$LAB_STATE/moves
move_to() {
	local s e
	s=$(date +%s%N)
	need "lab move mn4 eth0 $1" lab move mn4 eth0 "$1"
	e=$(date +%s%N)
	echo "$s $e $2" >> "$MOVES"
	MOVE_START=$s MOVE_END=$e
}
