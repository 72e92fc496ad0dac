#!/usr/bin/python3
"""A TCP stream and a UDP probe stream whose receive times show handover gaps.

The lab runs this on both ends of a Mobile IPv6 path (correspondent ->
mobile node's home address):

  server --bind HOA --port P --log FILE
      on the mobile node: accepts one TCP connection on [HOA]:P and reads
      16-octet records (sequence number, send time in ns, both big endian);
      every record must carry the next sequence number (TCP must neither
      lose nor reorder).  UDP probes of the same format arrive on the same
      port.  Each arrival is written to FILE at once ("t RECV_NS SEQ",
      "u RECV_NS SEQ SEND_NS"); on the TCP end of stream it writes
      "eof RECORDS ERRORS" and exits 0 if ERRORS is 0.  TCP lines carry the
      send time too ("t RECV_NS SEQ SEND_NS").
  client --to HOA --port P --interval-ms MS --stop-file F
      on the correspondent: connects, sends one TCP record and one UDP probe
      every MS; once F exists it closes its side, waits for the server to
      close, prints "sent N" and exits 0.  A broken connection exits 1.
  since FILE NS [KIND]
      exits 0 when FILE holds a KIND (t or u, default t) record *sent*
      after NS (for wait_for loops: data sent after a move has arrived).
  gaps FILE MOVES [MNLOG]
      MOVES has "START_NS END_NS LABEL" per move.  For each move the
      longest silence between two consecutive arrivals that starts inside
      the move (between START and END) is the move's gap: the link goes
      down inside `lab move`, so the last probe before the silence came
      over the old link and the first after it over the new one.  Prints
      one JSON object per move and a summary (median and p90).  For the
      UDP probes it also gives the probes lost across the silence
      (udp_lost) and the span of send times across it (udp_send_span_ms,
      the send times of the probes on either side): a regular sender loses
      about span / interval - 1 probes in a network outage; far fewer lost
      probes mean the sender itself was not scheduled (a loaded machine).  With the
      mobile node's log (mipsecd, mn role) it adds link_down_ms, the time
      the lab kept the link down (mn "link down" -> "link up"), which the
      gap includes but Mobile IPv6 cannot shorten.

All times are CLOCK_REALTIME in ns, shared by every namespace of the lab.
"""
import datetime
import json
import os
import select
import socket
import struct
import sys
import time

REC = struct.Struct("!QQ")


def now_ns():
	return time.clock_gettime_ns(time.CLOCK_REALTIME)


def server(args):
	bind, port, log = args["--bind"], int(args["--port"]), args["--log"]
	out = open(log, "w", buffering=1)
	ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind((bind, port))
	ls.listen(1)
	us = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
	us.bind((bind, port))
	out.write("listening\n")
	conn, buf, expect, errors = None, b"", 0, 0
	while True:
		rd = [ls if conn is None else conn, us]
		r, _, _ = select.select(rd, [], [])
		if us in r:
			d = us.recv(64)
			t = now_ns()
			if len(d) == REC.size:
				seq, sent = REC.unpack(d)
				out.write("u %d %d %d\n" % (t, seq, sent))
		if conn is None and ls in r:
			conn, peer = ls.accept()
			out.write("accepted %s\n" % peer[0])
			continue
		if conn is not None and conn in r:
			try:
				d = conn.recv(65536)
			except OSError as e:
				out.write("error %s\n" % e)
				return 1
			t = now_ns()
			if not d:
				out.write("eof %d %d\n" % (expect, errors))
				conn.close()
				return 0 if errors == 0 else 1
			buf += d
			while len(buf) >= REC.size:
				seq, sent = REC.unpack_from(buf)
				buf = buf[REC.size:]
				if seq != expect:
					errors += 1
					out.write("bad %d expected %d\n" % (seq, expect))
				expect = seq + 1
				out.write("t %d %d %d\n" % (t, seq, sent))


def client(args):
	to, port = args["--to"], int(args["--port"])
	interval = float(args.get("--interval-ms", "2")) / 1000.0
	stop = args["--stop-file"]
	deadline = time.monotonic() + 20
	while True:
		s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
		s.settimeout(2)
		try:
			s.connect((to, port))
			break
		except OSError as e:
			s.close()
			if time.monotonic() > deadline:
				print("client: cannot connect to [%s]:%d: %s" % (to, port, e))
				return 1
			time.sleep(0.1)
	s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	s.settimeout(None)
	u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
	u.connect((to, port))
	seq, useq, nxt = 0, 0, time.monotonic()
	while not os.path.exists(stop):
		rec = REC.pack(seq, now_ns())
		try:
			s.sendall(rec)
		except OSError as e:
			print("client: stream broken after %d records: %s" % (seq, e))
			return 1
		seq += 1
		try:
			u.send(REC.pack(useq, now_ns()))
		except OSError:
			pass	# no route for a moment: the probe is simply lost
		useq += 1
		nxt += interval
		delay = nxt - time.monotonic()
		if delay > 0:
			time.sleep(delay)
		else:
			nxt = time.monotonic()
	s.shutdown(socket.SHUT_WR)
	s.settimeout(30)
	try:
		while s.recv(4096):
			pass
	except OSError as e:
		print("client: no clean close from the server: %s" % e)
		return 1
	print("sent %d" % seq)
	return 0


def since(argv):
	path, t0 = argv[0], int(argv[1])
	kind = argv[2] if len(argv) > 2 else "t"
	try:
		with open(path) as f:
			lines = f.readlines()
	except OSError:
		return 1
	for line in reversed(lines):
		p = line.split()
		if len(p) >= 4 and p[0] == kind and p[3].isdigit():
			return 0 if int(p[3]) > t0 else 1
	return 1


def pct(v, q):
	v = sorted(v)
	if not v:
		return None
	k = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
	return v[k]


def gaps(argv):
	arr = {"t": [], "u": []}
	meta = {"t": [], "u": []}	# (seq, send_ns) per arrival
	with open(argv[0]) as f:
		for line in f:
			p = line.split()
			if len(p) >= 4 and p[0] in arr and p[1].isdigit():
				arr[p[0]].append(int(p[1]))
				meta[p[0]].append((int(p[2]), int(p[3])))
	moves = []
	with open(argv[1]) as f:
		for line in f:
			p = line.split(None, 2)
			if len(p) >= 2:
				moves.append((int(p[0]), int(p[1]), p[2].strip() if len(p) > 2 else ""))
	links = []	# (down_ns, up_ns) from the mobile node's log
	if len(argv) > 2:
		down = None
		with open(argv[2]) as f:
			for line in f:
				if "mod=mn link " not in line or not line.startswith("ts="):
					continue
				ts = datetime.datetime.strptime(line[3:line.index(" ")].rstrip("Z"),
							"%Y-%m-%dT%H:%M:%S.%f")
				ns = int(ts.replace(tzinfo=datetime.timezone.utc).timestamp() * 1e3) * 1000000
				if " link down " in line:
					down = ns
				elif " link up " in line and down is not None:
					links.append((down, ns))
					down = None
	res = []
	for i, (s, e, label) in enumerate(moves):
		o = {"move": i + 1, "label": label}
		for d, u in links:
			# log times have ms resolution: allow 1 ms either side
			if s - 1000000 <= d <= e + 1000000:
				o["link_down_ms"] = round((u - d) / 1e6, 1)
		for k, name in (("u", "udp_gap_ms"), ("t", "tcp_gap_ms")):
			a = arr[k]
			best, bj = None, 0
			for j in range(1, len(a)):
				if a[j] >= s and a[j - 1] <= e:
					g = a[j] - a[j - 1]
					if best is None or g > best:
						best, bj = g, j
				if a[j - 1] > e:
					break
			o[name] = None if best is None else round(best / 1e6, 1)
			if k == "u" and best is not None:
				# probes sent but never delivered across the silence, and
				# the send times around it (a loaded machine can stall the
				# sender; then fewer probes are lost than the span allows)
				(q0, s0), (q1, s1) = meta[k][bj - 1], meta[k][bj]
				o["udp_lost"] = q1 - q0 - 1
				o["udp_send_span_ms"] = round((s1 - s0) / 1e6, 1)
		res.append(o)
		print(json.dumps(o))
	summ = {"moves": len(res)}
	for name in ("udp_gap_ms", "tcp_gap_ms"):
		v = [o[name] for o in res if o[name] is not None]
		summ[name] = {"n": len(v), "median": pct(v, 0.5), "p90": pct(v, 0.9),
			      "max": max(v) if v else None}
	print(json.dumps({"summary": summ}))
	return 0


def parse(argv):
	a = {}
	i = 0
	while i < len(argv):
		if argv[i].startswith("--") and i + 1 < len(argv):
			a[argv[i]] = argv[i + 1]
			i += 2
		else:
			raise SystemExit("unexpected argument %r" % argv[i])
	return a


def main():
	if len(sys.argv) < 2:
		raise SystemExit(__doc__)
	cmd, rest = sys.argv[1], sys.argv[2:]
	if cmd == "server":
		return server(parse(rest))
	if cmd == "client":
		return client(parse(rest))
	if cmd == "since":
		return since(rest)
	if cmd == "gaps":
		return gaps(rest)
	raise SystemExit("unknown command %r" % cmd)


if __name__ == "__main__":
	sys.exit(main())
