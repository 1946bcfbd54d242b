#!/usr/bin/python3
"""Tunnel-side helpers for the v2 (TLS) integration tests: probes of the
concentrator's port, a pre-auth flood, and a pcap reader. Standard library
only (CI has Debian's python3, nothing else).

  probe KIND ADDR PORT [KEYFILE] [WAIT]
        KIND: badmac     v2-looking preamble, random key id and MAC
              hello      a real TLS 1.3 ClientHello straight to the port
              wrongkey   a correct v2 preamble of KEYFILE's key (a key the
                         server does not know) then a ClientHello
              raw:HEX    these bytes (a replay)
        Prints "kind=K sent=N bytes_received=N close=eof|reset|open
        after=S"; exit 0 always when it could connect (the test judges).
  flood SRC ADDR PORT N SECONDS
        Holds N silent TCP connections from SRC to ADDR:PORT for SECONDS
        (or until TERM), reopening any the server closes. Prints counts at
        the end.
  first-payload PCAP PORT
        Hex of the TCP payload of the first segment to PORT that carries
        data (SYN data included), from an Ethernet pcap.
  grep PCAP STRING
        Exit 0 iff STRING occurs in the pcap's bytes; prints the count.
  pcap-bytes PCAP PORT
        Total TCP payload bytes to or from PORT in the pcap.
"""

import base64
import errno
import hashlib
import hmac
import os
import selectors
import signal
import socket
import ssl
import struct
import sys
import time

KEY_ID_LABEL = b"mpsocks key id v1"	# src/proto/tunnel_proto.c


def load_key(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                return base64.b64decode(line.split()[1])
    raise SystemExit("no key in %s" % path)


def key_id(key):
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).digest()[:8]


def preamble(key=None):
    """70-byte v2 preamble: MAC'd with key, or random id and MAC."""
    fixed = (b"\x02\x01" + struct.pack(">HH", 70, 0) +
             struct.pack(">Q", int(time.time() * 1000)) + os.urandom(16))
    if key is None:
        return fixed + os.urandom(8) + os.urandom(32)
    fixed += key_id(key)
    return fixed + hmac.new(key, fixed, hashlib.sha256).digest()


def client_hello():
    """The first flight of a TLS 1.3 client, made with memory BIOs."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    assert hello[:1] == b"\x16", "not a TLS record"
    return hello


def probe(args):
    kind, addr, port = args[0], args[1], int(args[2])
    keyfile = args[3] if len(args) > 3 and args[3] != "-" else None
    wait = float(args[4]) if len(args) > 4 else 30.0
    if kind == "badmac":
        msg = preamble()
    elif kind == "hello":
        msg = client_hello()
    elif kind == "wrongkey":
        msg = preamble(load_key(keyfile)) + client_hello()
    elif kind == "silent":
        msg = b""
    elif kind == "garbage":
        msg = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    elif kind.startswith("raw:"):
        msg = bytes.fromhex(kind[4:])
    else:
        raise SystemExit("unknown probe " + kind)
    s = socket.create_connection((addr, port), timeout=10)
    t0 = time.monotonic()
    got = 0
    how = "open"
    try:
        if msg:
            s.sendall(msg)
        s.settimeout(0.1)
        while time.monotonic() - t0 < wait:
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            if not b:
                how = "eof"
                break
            got += len(b)
    except ConnectionResetError:
        how = "reset"
    except BrokenPipeError:
        how = "reset"
    secs = time.monotonic() - t0
    s.close()
    print("kind=%s sent=%d bytes_received=%d close=%s after=%.2f" %
          (kind.split(":")[0], len(msg), got, how, secs))


def flood(args):
    src, addr, port, n, secs = (args[0], args[1], int(args[2]), int(args[3]),
                                float(args[4]))
    sel = selectors.DefaultSelector()
    opened = closed = failed = 0
    peak = 0

    def open_one():
        nonlocal opened, failed
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src, 0))
        rc = s.connect_ex((addr, port))
        if rc not in (0, errno.EINPROGRESS):
            failed += 1
            s.close()
            return
        opened += 1
        sel.register(s, selectors.EVENT_READ)

    stop = False

    def on_term(signum, frame):
        nonlocal stop
        stop = True
    signal.signal(signal.SIGTERM, on_term)

    t0 = time.monotonic()
    ready_said = False
    while not stop and time.monotonic() - t0 < secs:
        live = len(sel.get_map())
        peak = max(peak, live)
        for _ in range(min(n - live, 500)):
            open_one()
        if not ready_said and len(sel.get_map()) >= n:
            print("flood: %d open after %.2f s" % (n, time.monotonic() - t0),
                  flush=True)
            ready_said = True
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                b = s.recv(4096)
            except (ConnectionResetError, ConnectionRefusedError,
                    TimeoutError, OSError):
                b = b""
            if b:
                print("flood: the server sent %d bytes" % len(b), flush=True)
            sel.unregister(s)
            s.close()
            closed += 1
    print("flood: opened=%d closed_by_peer=%d connect_failed=%d peak_open=%d"
          % (opened, closed, failed, peak), flush=True)


def pcap_packets(path):
    """Yields (ts, src_port, dst_port, flags, payload) of IPv4 TCP
    segments in an Ethernet (or Linux cooked) pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise SystemExit("%s: not a pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:		# Ethernet
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype == 113:		# Linux cooked
            if len(pkt) < 16 or pkt[14:16] != b"\x08\x00":
                continue
            ip = pkt[16:]
        else:
            raise SystemExit("linktype %d not handled" % linktype)
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:tot]
        if len(tcp) < 20:
            continue
        sport, dport = struct.unpack(">HH", tcp[:4])
        doff = (tcp[12] >> 4) * 4
        yield ts, sport, dport, tcp[13], tcp[doff:]


def first_payload(args):
    port = int(args[1])
    for _, _, dport, _, payload in pcap_packets(args[0]):
        if dport == port and payload:
            print(payload.hex())
            return
    raise SystemExit("no data segment to port %d in %s" % (port, args[0]))


def pcap_grep(args):
    with open(args[0], "rb") as f:
        n = f.read().count(args[1].encode())
    print(n)
    sys.exit(0 if n > 0 else 1)


def pcap_bytes(args):
    port = int(args[1])
    print(sum(len(p) for _, sp, dp, _, p in pcap_packets(args[0])
              if port in (sp, dp)))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"probe": probe, "flood": flood, "first-payload": first_payload,
     "grep": pcap_grep, "pcap-bytes": pcap_bytes}[cmd](args)


if __name__ == "__main__":
    main()
