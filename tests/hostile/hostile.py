#!/usr/bin/python3
"""hostile.py SOCKET CASE [ARGS] - clients that try to break cvmd, for
check-hostile.sh. Prints "result: ..." lines; exits 0 when cvmd behaved,
1 when it did not.

Requests are hand-encoded protobuf (proto/cvm.proto), no library needed.
"""
import os
import socket
import struct
import sys
import time

# The raw protocol's reader, shared with the integration suite's abuse cases.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from frames import read_frame  # noqa: E402


def varint(v):
	out = b""
	while True:
		b = v & 0x7f
		v >>= 7
		if v:
			out += bytes([b | 0x80])
		else:
			return out + bytes([b])


def field_varint(num, v):
	return varint(num << 3) + varint(v)


def field_bytes(num, data):
	return varint(num << 3 | 2) + varint(len(data)) + data


def request(req_id, op_field, body):
	return field_varint(1, req_id) + field_bytes(op_field, body)


def frame(msg):
	return struct.pack(">I", len(msg)) + msg


def status(req_id):
	return frame(request(req_id, 10, b""))


def watch(req_id, name=""):
	return frame(request(req_id, 20, field_bytes(1, name.encode()) if name else b""))


def lifecycle(req_id, name, op):
	return frame(request(req_id, 15, field_bytes(1, name.encode()) + field_varint(2, op)))


def create(req_id, name, memory):
	return frame(request(req_id, 13, field_bytes(1, name.encode()) + field_varint(2, memory)))


def destroy(req_id, name):
	return frame(request(req_id, 14, field_bytes(1, name.encode())))


def lifecycle_unset(req_id, name):
	"""A LifecycleRequest without its op field (presence: unset)."""
	return frame(request(req_id, 15, field_bytes(1, name.encode())))


def page_unset(req_id, name):
	"""A PageRequest without its op field, GPA 0."""
	return frame(request(req_id, 16, field_bytes(1, name.encode())))


def connect(path):
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(30)
	for _ in range(3000):
		try:
			s.connect(path)
			return s
		except BlockingIOError:	# the listen backlog is full: retry
			time.sleep(0.01)
	raise TimeoutError("cannot connect")


def response_id_status(body):
	"""(id, status) of a Response: fields 1 and 2."""
	i, rid, st = 0, 0, 0
	while i < len(body):
		key = 0
		shift = 0
		while True:
			b = body[i]; i += 1
			key |= (b & 0x7f) << shift; shift += 7
			if not b & 0x80:
				break
		field, wire = key >> 3, key & 7
		v, shift = 0, 0
		if wire in (0, 2):
			while True:
				b = body[i]; i += 1
				v |= (b & 0x7f) << shift; shift += 7
				if not b & 0x80:
					break
		if wire == 0:
			if field == 1: rid = v
			if field == 2: st = v
		elif wire == 2:
			i += v
		else:
			break
	return rid, st


def alive(path):
	s = connect(path)
	s.sendall(status(9))
	body = read_frame(s)
	s.close()
	return body is not None and response_id_status(body) == (9, 0)


def case_watch_flood(path, vm, cycles):
	"""Two watches on one connection that never reads, then transitions
	until cvmd gives up on it: the fan-out that drops it must not touch
	what it freed."""
	w = connect(path)
	w.sendall(watch(1) + watch(2))
	time.sleep(0.2)
	s = connect(path)
	sent = answered = 0
	rid = 100
	for _ in range(int(cycles)):
		batch = b""
		for op in (0, 2):	# INIT_START, INIT_ABORT
			rid += 1
			batch += lifecycle(rid, vm, op)
		s.sendall(batch)
		for _ in range(2):
			body = read_frame(s)
			if body is None:
				print("result: cvmd closed the driving connection")
				return 1
			answered += 1
		sent += 2
	# The watcher was dropped: its socket reads EOF after the backlog.
	w.settimeout(10)
	dropped = False
	try:
		while w.recv(1 << 16):
			pass
		dropped = True
	except socket.timeout:
		pass
	print("result: %d transitions answered, watcher dropped=%s" % (answered, dropped))
	return 0 if dropped else 1


def statuses(s, n):
	"""The statuses of the next n answers, by request id (fewer if the
	connection ends first)."""
	got = {}
	while len(got) < n:
		body = read_frame(s)
		if body is None:
			break
		rid, st = response_id_status(body)
		got[rid] = st
	return got


def case_destroy_during_create(path, name, memory):
	"""create and destroy of one name in one write: the destroy lands
	while the create waits for its VMM."""
	s = connect(path)
	s.sendall(create(1, name, int(memory)) + destroy(2, name))
	got = statuses(s, 2)
	print("result: create status %s, destroy status %s" % (got.get(1), got.get(2)))
	# The create fails (destroyed while starting), the destroy succeeds.
	return 0 if got.get(1, 0) != 0 and got.get(2) == 0 else 1


def rss_kib(pid):
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith("VmRSS:"):
				return int(line.split()[1])
	return 0


def case_conn_flood(path, attempts, cap):
	"""Connection attempts from one uid, all held open: beyond its cap
	each gets one LIMIT answer and is closed; the first cap are served."""
	attempts, cap = int(attempts), int(cap)
	held, served, limited, other = [], 0, 0, 0
	for i in range(attempts):
		s = connect(path)
		held.append(s)
		try:
			s.sendall(status(1))
		except (BrokenPipeError, ConnectionResetError):
			pass	# refused and closed already: its answer is queued
	reset = 0
	for s in held:
		try:
			body = read_frame(s)
		except ConnectionResetError:
			# Refused and closed before cvmd could read our request:
			# the kernel resets, and the LIMIT answer is lost with it.
			reset += 1
			continue
		if body is None:
			other += 1
			continue
		rid, st = response_id_status(body)
		if st == 0:
			served += 1
		elif st == 12:	# LIMIT
			limited += 1
			try:
				if read_frame(s) is not None:
					other += 1	# must be closed after the answer
			except ConnectionResetError:
				# Closed with our request unread: the kernel reports
				# the close as a reset once the answer is consumed.
				pass
		else:
			other += 1
	print("result: %d attempts: %d served, %d refused with LIMIT, %d reset, %d other" %
	      (attempts, served, limited, reset, other))
	ok = served == cap and limited + reset == attempts - cap and other == 0 and \
		limited >= reset
	for s in held:
		s.close()
	return 0 if ok else 1


def case_partial_frames(path, conns, cvmd_pid, max_growth_mib):
	"""Idle connections, each with most of a 4 MiB frame sent: cvmd's
	memory must stay within its input budget, and it serves others."""
	conns, cvmd_pid = int(conns), int(cvmd_pid)
	before = rss_kib(cvmd_pid)
	held, left = [], []
	for _ in range(conns):
		s = connect(path)
		s.sendall(struct.pack(">I", 4 << 20))
		s.setblocking(False)
		held.append(s)
		left.append((4 << 20) - 4096)	# all but the last page
	# Keep pushing for a while: what cvmd stops reading stays in our
	# socket buffers (backpressure).
	chunk = b"\0" * 65536
	deadline = time.time() + 4
	while time.time() < deadline and any(left):
		for i, s in enumerate(held):
			if not left[i]:
				continue
			try:
				left[i] -= s.send(chunk[:min(len(chunk), left[i])])
			except BlockingIOError:
				pass
		time.sleep(0.01)
	time.sleep(1)
	growth = (rss_kib(cvmd_pid) - before) / 1024
	served = alive(path)
	print("result: %d partial 4 MiB frames: cvmd grew %.1f MiB (budget %s), others served=%s" %
	      (conns, growth, max_growth_mib, served))
	for s in held:
		s.close()
	return 0 if served and growth < float(max_growth_mib) else 1


def case_unset_op(path, name):
	"""Lifecycle and page requests whose op is not set: refused as
	invalid, not taken for INIT_START / PAGE_IN (the enums' zero)."""
	s = connect(path)
	s.sendall(lifecycle_unset(1, name) + page_unset(2, name))
	got = statuses(s, 2)
	print("result: unset lifecycle op -> %s, unset page op -> %s" % (got.get(1), got.get(2)))
	return 0 if got.get(1) == 1 and got.get(2) == 1 else 1


def case_unknown_field(path, name):
	"""Snapshot and show requests carrying a field the schema does not
	know, its key in a non-minimal varint (field 0): protobuf-c takes it
	and would pack it again as bytes no decoder takes. cvmd must answer
	and pass nothing of it to the VM's VMM, which would not decode it."""
	junk = bytes([0x82, 0x00, 0x02, 0x00, 0x2f])
	s = connect(path)
	s.sendall(frame(request(1, 19, field_bytes(1, name.encode()) + junk)) +
		  frame(request(2, 12, field_bytes(1, name.encode()) + junk)))
	got = statuses(s, 2)
	print("result: snapshot -> %s, show -> %s" % (got.get(1), got.get(2)))
	return 0 if got.get(1) == 0 and got.get(2) == 0 else 1


def fields(body):
	"""(field, wire, value) of a message: varints as ints, LEN as bytes."""
	i = 0
	while i < len(body):
		key, shift = 0, 0
		while True:
			b = body[i]; i += 1
			key |= (b & 0x7f) << shift; shift += 7
			if not b & 0x80:
				break
		field, wire = key >> 3, key & 7
		if wire not in (0, 2):
			return
		v, shift = 0, 0
		while True:
			b = body[i]; i += 1
			v |= (b & 0x7f) << shift; shift += 7
			if not b & 0x80:
				break
		if wire == 2:
			yield field, wire, body[i:i + v]
			i += v
		else:
			yield field, wire, v


def case_list_frames(path, cap, want_vms):
	"""A list larger than the frame cap comes in several frames, each
	within the cap, holding every VM once."""
	cap, want_vms = int(cap), int(want_vms)
	s = connect(path)
	s.sendall(frame(request(7, 11, b"")))
	frames = vms = biggest = 0
	more = True
	while more:
		body = read_frame(s)
		if body is None:
			print("result: connection closed after %d frames" % frames)
			return 1
		frames += 1
		biggest = max(biggest, len(body) + 4)
		more = False
		for f, w, v in fields(body):
			if f == 11 and w == 2:
				for g, w2, v2 in fields(v):
					if g == 1:
						vms += 1
					if g == 2 and v2:
						more = True
	print("result: %d VMs in %d frames, the largest %d bytes (cap %d)" % (vms, frames, biggest, cap))
	return 0 if frames >= 2 and biggest <= cap and vms == want_vms else 1


def page(req_id, name, op, gpa):
	return frame(request(req_id, 16, field_bytes(1, name.encode()) + field_varint(2, op) +
			     field_varint(3, gpa)))


def show(req_id, name):
	return frame(request(req_id, 12, field_bytes(1, name.encode())))


def snapshot(req_id, name):
	return frame(request(req_id, 19, field_bytes(1, name.encode())))


def pipelined(s, reqs, window=32):
	"""Send requests in windows under max_requests; the statuses by id."""
	got = {}
	for i in range(0, len(reqs), window):
		batch = reqs[i:i + window]
		s.sendall(b"".join(r for _, r in batch))
		for _ in batch:
			body = read_frame(s)
			if body is None:
				return got
			rid, st = response_id_status(body)
			got[rid] = st
	return got


def case_share_alternate(path, vm, start_gfn, count):
	"""Page in every other page shared from start_gfn on, count pages:
	2 * count runs of alternating state (the VM must be transient)."""
	start_gfn, count = int(start_gfn), int(count)
	s = connect(path)
	reqs = [(1000 + i, page(1000 + i, vm, 1, (start_gfn + 2 * i) * 4096)) for i in range(count)]
	got = pipelined(s, reqs)
	bad = [rid for rid, st in got.items() if st != 0]
	print("result: %d shared pages paged in, %d refused" % (len(got) - len(bad), len(bad)))
	return 0 if len(got) == count and not bad else 1


def snapshot_frames(s, rid):
	"""Read a snapshot answer to its last frame: (frames, runs, pages,
	largest frame, contiguous, error status or 0)."""
	frames = runs = pages = biggest = 0
	expect_gfn, contiguous = 0, True
	more = True
	while more:
		body = read_frame(s)
		if body is None:
			return frames, runs, pages, biggest, contiguous, -1
		frames += 1
		biggest = max(biggest, len(body) + 4)
		got_id, st = response_id_status(body)
		if got_id != rid:
			contiguous = False
		if st:
			return frames, runs, pages, biggest, contiguous, st
		more = False
		for f, w, v in fields(body):
			if f != 14 or w != 2:
				continue
			for g, w2, v2 in fields(v):
				if g == 2 and v2:
					more = True
				if g != 1:
					continue
				run = dict((h, x) for h, _, x in fields(v2))
				gfn, n = run.get(1, 0), run.get(7, 0) or 1
				if gfn != expect_gfn:
					contiguous = False
				expect_gfn = gfn + n
				runs += 1
				pages += n
	return frames, runs, pages, biggest, contiguous, 0


def case_snapshot_frames(path, vm, cap, want_pages, min_runs):
	"""A snapshot with more runs than a frame holds: several frames with
	the request's id, each within the cap, whose runs cover every GFN of
	the VM once, in order. Then one left after its first frame: the VM
	is still served."""
	cap, want_pages, min_runs = int(cap), int(want_pages), int(min_runs)
	s = connect(path)
	s.sendall(snapshot(77, vm))
	frames, runs, pages, biggest, contiguous, st = snapshot_frames(s, 77)
	print("result: snapshot of %d pages in %d runs, %d frames, the largest %d bytes "
	      "(cap %d), contiguous=%s, status %d" %
	      (pages, runs, frames, biggest, cap, contiguous, st))
	ok = st == 0 and frames >= 2 and biggest <= cap and pages == want_pages and \
		runs >= min_runs and contiguous
	# A reader that leaves mid-stream: cvmd drops the rest, the VM goes on.
	a = connect(path)
	a.sendall(snapshot(78, vm))
	read_frame(a)
	a.close()
	s.sendall(show(79, vm))
	body = read_frame(s)
	served = body is not None and response_id_status(body) == (79, 0)
	print("result: after a reader left mid-snapshot, show answered=%s" % served)
	return 0 if ok and served else 1


def case_slow_reader(path, vm, snapshots, driver_ops):
	"""A client that never reads while answers (snapshots) and events pile
	up: cvmd disconnects it at max_output; another client is served all
	along."""
	snapshots, driver_ops = int(snapshots), int(driver_ops)
	slow = connect(path)
	slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
	slow.sendall(watch(1) + b"".join(snapshot(10 + i, vm) for i in range(snapshots)))
	s = connect(path)
	served = 0
	t0 = time.time()
	for i in range(driver_ops):
		s.sendall(show(1000 + i, vm) + snapshot(5000 + i, vm))
		body = read_frame(s)
		if body is None or response_id_status(body) != (1000 + i, 0):
			break
		if snapshot_frames(s, 5000 + i)[5] != 0:
			break
		served += 1
	took = time.time() - t0
	# Dropped: what was queued before the drop drains, then EOF.
	slow.settimeout(10)
	dropped = False
	try:
		while slow.recv(1 << 16):
			pass
		dropped = True
	except (socket.timeout, ConnectionResetError) as e:
		dropped = isinstance(e, ConnectionResetError)
	print("result: slow reader dropped=%s; the other client served %d/%d show+snapshot in %.1f s" %
	      (dropped, served, driver_ops, took))
	return 0 if dropped and served == driver_ops else 1


def case_pipeline(path, vm, count, max_requests):
	"""count requests to a VM's VMM in one write, past max_requests:
	each answered once, the excess LIMIT, the others OK and in order."""
	count, max_requests = int(count), int(max_requests)
	s = connect(path)
	s.sendall(b"".join(show(100 + i, vm) for i in range(count)))
	order, limited, other = [], 0, 0
	seen = set()
	while len(seen) < count:
		body = read_frame(s)
		if body is None:
			break
		rid, st = response_id_status(body)
		if rid in seen:
			other += 1
		seen.add(rid)
		if st == 0:
			order.append(rid)
		elif st == 12:
			limited += 1
		else:
			other += 1
	in_order = order == sorted(order)
	print("result: %d pipelined: %d answered, %d OK (in order: %s), %d LIMIT, %d other" %
	      (count, len(seen), len(order), in_order, limited, other))
	return 0 if len(seen) == count and limited > 0 and len(order) >= max_requests and \
		in_order and other == 0 else 1


def case_create_destroy_race(path, name, clients, rounds):
	"""Several clients create and destroy one name at once, half of them
	with both requests in one write (a destroy during the create), half
	waiting for each answer (and leaving their last create). Every request is answered with success or a
	refusal that says why (exists, not found, busy, gone); the shell then
	checks that registry, VMMs and list agree."""
	import threading
	clients, rounds = int(clients), int(rounds)
	statuses = {}
	closed = [0]
	lock = threading.Lock()

	def answer(s):
		body = read_frame(s)
		if body is None:
			with lock:
				closed[0] += 1
			return None
		rid, st = response_id_status(body)
		with lock:
			statuses[st] = statuses.get(st, 0) + 1
		return st

	def run(k):
		s = connect(path)
		for r in range(rounds):
			base = (k * rounds + r) * 2 + 10
			if k % 2:
				s.sendall(create(base, name, 4 << 20) + destroy(base + 1, name))
				if answer(s) is None or answer(s) is None:
					return
			else:
				s.sendall(create(base, name, 4 << 20))
				if answer(s) is None:
					return
				if r == rounds - 1:
					break	# the last may stay: the end state varies
				s.sendall(destroy(base + 1, name))
				if answer(s) is None:
					return
		s.close()

	threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
	for t in threads:
		t.start()
	for t in threads:
		t.join()
	print("result: %d clients x %d rounds of create+destroy of one name: answers by status %s, "
	      "%d connections closed" % (clients, rounds, sorted(statuses.items()), closed[0]))
	# OK, NOT_FOUND, EXISTS, BUSY, UNAVAILABLE; nothing else.
	expected = {0, 2, 3, 7, 11}
	ok = closed[0] == 0 and sum(statuses.values()) == clients * rounds * 2 - (clients + 1) // 2 and \
		set(statuses) <= expected and statuses.get(0, 0) > 0
	return 0 if ok else 1

def main():
	path, case = sys.argv[1], sys.argv[2]
	cases = {
		"watch-flood": case_watch_flood,
		"destroy-during-create": case_destroy_during_create,
		"conn-flood": case_conn_flood,
		"unknown-field": case_unknown_field,
		"unset-op": case_unset_op,
		"list-frames": case_list_frames,
		"partial-frames": case_partial_frames,
		"share-alternate": case_share_alternate,
		"snapshot-frames": case_snapshot_frames,
		"slow-reader": case_slow_reader,
		"pipeline": case_pipeline,
		"create-destroy-race": case_create_destroy_race,
	}
	ret = cases[case](path, *sys.argv[3:])
	if not alive(path):
		print("result: cvmd not answering afterwards")
		return 1
	return ret


if __name__ == "__main__":
	sys.exit(main())
