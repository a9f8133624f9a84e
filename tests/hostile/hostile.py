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


def case_destroy_during_create(path, name, memory):
	"""create and destroy of one name in one write: the destroy lands
	while the create waits for its VMM."""
	s = connect(path)
	s.sendall(create(1, name, int(memory)) + destroy(2, name))
	got = {}
	while len(got) < 2:
		body = read_frame(s)
		if body is None:
			break
		rid, st = response_id_status(body)
		got[rid] = st
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
	got = {}
	while len(got) < 2:
		body = read_frame(s)
		if body is None:
			break
		rid, st = response_id_status(body)
		got[rid] = st
	print("result: unset lifecycle op -> %s, unset page op -> %s" % (got.get(1), got.get(2)))
	return 0 if got.get(1) == 1 and got.get(2) == 1 else 1


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


def main():
	path, case = sys.argv[1], sys.argv[2]
	cases = {
		"watch-flood": case_watch_flood,
		"destroy-during-create": case_destroy_during_create,
		"conn-flood": case_conn_flood,
		"unset-op": case_unset_op,
		"list-frames": case_list_frames,
		"partial-frames": case_partial_frames,
	}
	ret = cases[case](path, *sys.argv[3:])
	if not alive(path):
		print("result: cvmd not answering afterwards")
		return 1
	return ret


if __name__ == "__main__":
	sys.exit(main())
