#!/usr/bin/python3
"""frames.py SOCKET CASE [VM] - raw protocol abuse against cvmd (or with
vmm-unserved against VM's own VMM socket, cvmd stopped), for robustness.sh. Prints one line "result: ..." and exits 0 when the daemon
behaved (refused or served), 1 when it did not.

Requests are hand-encoded protobuf (no library needed): a StatusRequest
with id N is 08 N 52 00 (field 1 varint, field 10 empty message).
"""
import os
import socket
import struct
import sys
import time

def status_request(req_id):
	return bytes([0x08, req_id, 0x52, 0x00])

def frame(msg):
	return struct.pack(">I", len(msg)) + msg

def connect(path):
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(10)
	s.connect(path)
	return s

def read_frame(s):
	hdr = b""
	while len(hdr) < 4:
		chunk = s.recv(4 - len(hdr))
		if not chunk:
			return None
		hdr += chunk
	(n,) = struct.unpack(">I", hdr)
	body = b""
	while len(body) < n:
		chunk = s.recv(n - len(body))
		if not chunk:
			return None
		body += chunk
	return body

def response_id_status(body):
	"""(id, status) of a Response: fields 1 and 2, varints."""
	i, rid, status = 0, 0, 0
	while i < len(body):
		key = body[i]; i += 1
		field, wire = key >> 3, key & 7
		if wire == 0:
			v, shift = 0, 0
			while True:
				b = body[i]; i += 1
				v |= (b & 0x7f) << shift; shift += 7
				if not b & 0x80:
					break
			if field == 1: rid = v
			if field == 2: status = v
		elif wire == 2:
			n, shift = 0, 0
			while True:
				b = body[i]; i += 1
				n |= (b & 0x7f) << shift; shift += 7
				if not b & 0x80:
					break
			i += n
		else:
			break
	return rid, status

def response_fields(body):
	"""A Response's top-level fields: varints as ints, the rest as bytes."""
	i, out = 0, {}
	while i < len(body):
		key, shift = 0, 0
		while True:
			b = body[i]; i += 1
			key |= (b & 0x7f) << shift; shift += 7
			if not b & 0x80:
				break
		field, wire = key >> 3, key & 7
		v, shift = 0, 0
		while True:
			b = body[i]; i += 1
			v |= (b & 0x7f) << shift; shift += 7
			if not b & 0x80:
				break
		if wire == 2:
			out[field] = body[i:i + v]
			i += v
		elif wire == 0:
			out[field] = v
		else:
			break
	return out

def oneof(field, body):
	"""A Request's oneof member: its key (varint) and its length-prefixed body."""
	key, tag = (field << 3) | 2, b""
	while key >= 0x80:
		tag += bytes([key & 0x7f | 0x80]); key >>= 7
	return tag + bytes([key, len(body)]) + body

def named(name):
	return bytes([0x0a, len(name)]) + name.encode()

def vmm_unserved(path, vm):
	"""Straight to a VM's VMM: what the operation table says it does not
	serve is refused (INVALID_ARGUMENT, -EINVAL, named); show still works."""
	unserved = [("status", oneof(10, b"")), ("list", oneof(11, b"")),
		    ("create", oneof(13, named("evil") + bytes([0x10, 0x80, 0x80, 0x04]))),
		    ("watch", oneof(20, b"")), ("attest", oneof(21, named(vm))),
		    ("an unset operation", b"")]
	s = connect(path)
	bad = []
	for i, (what, op) in enumerate(unserved):
		s.sendall(frame(bytes([0x08, 20 + i]) + op))
		body = read_frame(s)
		if body is None:
			bad.append("%s: connection closed" % what)
			break
		f = response_fields(body)
		# INVALID_ARGUMENT (1), error -EINVAL as an int32 varint
		if (f.get(1), f.get(2), f.get(4)) != (20 + i, 1, (1 << 64) - 22) or \
		   f.get(3, b"").decode() != "%s is not served by a VM's VMM" % what:
			bad.append("%s: %s" % (what, f))
	s.sendall(frame(bytes([0x08, 40]) + oneof(12, named(vm))))
	body = read_frame(s)
	f = response_fields(body) if body is not None else {}
	if (f.get(1), f.get(2, 0)) != (40, 0) or 12 not in f:
		bad.append("show: %s" % f)
	s.close()
	print("result: %d unserved refused, show %s%s" % (len(unserved),
		"served" if 12 in f else "not served", "; " + "; ".join(bad) if bad else ""))
	return 1 if bad else 0

def alive(path):
	s = connect(path)
	s.sendall(frame(status_request(9)))
	body = read_frame(s)
	s.close()
	return body is not None and response_id_status(body) == (9, 0)

def main():
	path, case = sys.argv[1], sys.argv[2]
	if case == "vmm-unserved":
		return vmm_unserved(path, sys.argv[3])
	if case == "truncated":
		s = connect(path)
		s.sendall(struct.pack(">I", 100) + b"\x08\x01")
		s.close()
	elif case == "oversized":
		s = connect(path)
		s.sendall(struct.pack(">I", 0xFFFFFFF0) + b"\x00" * 16)
		body = read_frame(s)
		# an error answer, then the connection is closed
		closed = read_frame(s) is None
		st = response_id_status(body)[1] if body is not None else None
		print("result: oversized answered=%s status=%s closed=%s" % (body is not None, st, closed))
		# LIMIT (12): a frame over the cap is a limit, not an internal error
		if not closed or st != 12:
			return 1
	elif case == "garbage":
		s = connect(path)
		s.sendall(frame(os.urandom(64)))
		s.sendall(frame(b"\xff\xff\xff\xff\xff"))
		s.sendall(frame(status_request(5)))
		got = []
		for _ in range(3):
			body = read_frame(s)
			if body is None:
				break
			got.append(response_id_status(body))
		print("result: garbage answers %s" % got)
		# the valid request after the garbage is still served
		if (5, 0) not in got:
			return 1
	elif case == "unknown-field":
		s = connect(path)
		# field 99 (varint) before a status request: skipped, served
		s.sendall(frame(bytes([0x98, 0x06, 0x07]) + status_request(7)))
		body = read_frame(s)
		print("result: unknown field -> %s" % (response_id_status(body),))
		if response_id_status(body) != (7, 0):
			return 1
	elif case == "empty-op":
		s = connect(path)
		s.sendall(frame(bytes([0x08, 0x03])))
		body = read_frame(s)
		rid, status = response_id_status(body)
		print("result: no operation -> id %d status %d" % (rid, status))
		if rid != 3 or status != 1:
			return 1
	elif case == "no-reader":
		# many pipelined requests, never read: the daemon must not
		# block or grow without bound; other clients are served
		s = connect(path)
		s.setblocking(False)
		sent = 0
		req = frame(bytes([0x08, 0x01, 0x5a, 0x00]))  # list request
		deadline = time.time() + 3
		while time.time() < deadline:
			try:
				s.send(req * 64)
				sent += 64
			except BlockingIOError:
				time.sleep(0.01)
			except (BrokenPipeError, ConnectionResetError):
				break
		print("result: sent %d requests without reading" % sent)
	elif case == "many":
		socks = [connect(path) for _ in range(200)]
		for i, s in enumerate(socks):
			s.sendall(frame(status_request(1 + i % 100)))
		served = 0
		for i, s in enumerate(socks):
			body = read_frame(s)
			if body is not None and response_id_status(body) == (1 + i % 100, 0):
				served += 1
			s.close()
		print("result: %d of 200 clients served" % served)
		if served != 200:
			return 1
	if not alive(path):
		print("result: daemon not answering afterwards")
		return 1
	return 0

if __name__ == "__main__":
	sys.exit(main())
