"""trickle.py: many long-lived connections with data trickling, for
tests/bench/conns.sh. Python's selectors (epoll), one process per side.

  trickle.py serve ADDR PORT
      Accept everything; send one byte per second on every connection
      (spread over the second, a tenth of them every 100 ms); discard
      what arrives. Prints "serving" when listening, then runs until
      SIGTERM.

  trickle.py client PROXY_PORT HOST PORT N HOLD [PARALLEL]
      Open N SOCKS5 connections through 127.0.0.1:PROXY_PORT to HOST:PORT
      (name sent to the proxy), at most PARALLEL (default 200) handshakes
      at once. Prints
        "established n=N ok=K failed=F secs=S per_s=R"
      once all are up or failed (the shell measures memory then), holds
      them HOLD seconds, and prints
        "held alive=A receiving=V closed=C bytes=B window=W"
      where receiving counts the connections that got at least one byte
      in the last W seconds of the hold (and window_bytes_min/median
      how many), then resets them all
      (SO_LINGER 0: no TIME_WAIT left for the next run). Exit 0 iff every one of
      the N was established, is still open and kept receiving.

Every loop is bounded in time: the handshakes by a 120 s deadline, the
hold by HOLD.
"""
import errno
import resource
import selectors
import signal
import socket
import struct
import sys
import time

DEADLINE = 120.0
WINDOW = 5.0


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(addr, port):
    raise_nofile()
    sel = selectors.DefaultSelector()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4096)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ)
    conns = []
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("serving", flush=True)
    tick, slot = time.monotonic(), 0
    while not stop:
        for key, _ in sel.select(0.05):
            s = key.fileobj
            if s is ls:
                while True:
                    try:
                        c, _ = ls.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ)
                    conns.append(c)
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
        now = time.monotonic()
        if now - tick >= 0.1:
            tick = now
            dead = False
            for c in conns[slot::10]:
                if c.fileno() == -1:
                    dead = True
                    continue
                try:
                    c.send(b"x")
                except BlockingIOError:
                    pass		# a full buffer: the next second, then
                except OSError:
                    sel.unregister(c)
                    c.close()
                    dead = True
            if dead:
                # one pass, not list.remove per socket: 10,000 closing
                # at once would cost O(n^2)
                conns = [c for c in conns if c.fileno() != -1]
            slot = (slot + 1) % 10


class Conn:
    __slots__ = ("sock", "state", "buf", "bytes", "mark", "closed")

    def __init__(self, sock):
        self.sock, self.state, self.buf = sock, "connect", b""
        self.bytes, self.mark, self.closed = 0, 0, False


def socks_request(host, port):
    h = host.encode()
    return b"\x05\x01\x00\x03" + bytes([len(h)]) + h + struct.pack("!H", port)


def reply_len(buf):
    """length of a complete SOCKS5 reply at the start of buf, or 0"""
    if len(buf) < 5:
        return 0
    atyp = buf[3]
    n = {1: 4 + 6, 4: 16 + 6, 3: 5 + buf[4] + 2}.get(atyp, 0)
    return n if n and len(buf) >= n else 0


def client(proxy_port, host, port, n, hold, parallel):
    raise_nofile()
    sel = selectors.DefaultSelector()
    req = socks_request(host, port)
    conns, pending, opened, ok, failed = [], 0, 0, 0, 0
    why = {}			# failure reason -> count, for the report
    t0 = time.monotonic()

    def fail(c, reason):
        nonlocal pending, failed
        key = "%s:%s" % (c.state, reason)
        why[key] = why.get(key, 0) + 1
        if c.state != "up":
            pending -= 1
            failed += 1
        c.closed = True
        c.state = "dead"
        sel.unregister(c.sock)
        c.sock.close()

    def on_event(c, ev):
        nonlocal pending, ok
        s = c.sock
        if c.state == "connect":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return fail(c, errno.errorcode.get(err, str(err)))
            s.send(b"\x05\x01\x00")
            c.state = "method"
            sel.modify(s, selectors.EVENT_READ, c)
            return None
        try:
            data = s.recv(4096)
        except BlockingIOError:
            return None
        except OSError as e:
            return fail(c, errno.errorcode.get(e.errno, str(e.errno)))
        if not data:
            return fail(c, "eof")
        if c.state == "up":
            c.bytes += len(data)
            return None
        c.buf += data
        if c.state == "method":
            if len(c.buf) < 2:
                return None
            if c.buf[:2] != b"\x05\x00":
                return fail(c, "method")
            c.buf = c.buf[2:]
            s.send(req)
            c.state = "reply"
        if c.state == "reply":
            n_rep = reply_len(c.buf)
            if not n_rep:
                return None
            if c.buf[1] != 0:
                return fail(c, "rep%d" % c.buf[1])
            c.bytes += len(c.buf) - n_rep
            c.buf = b""
            c.state = "up"
            pending -= 1
            ok += 1
        return None

    while ok + failed < n and time.monotonic() - t0 < DEADLINE:
        while opened < n and pending < parallel:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", proxy_port))
            except BlockingIOError:
                pass
            c = Conn(s)
            conns.append(c)
            sel.register(s, selectors.EVENT_WRITE, c)
            opened += 1
            pending += 1
        for key, ev in sel.select(0.1):
            on_event(key.data, ev)
    secs = time.monotonic() - t0
    print("established n=%d ok=%d failed=%d secs=%.3f per_s=%.0f why=%s" %
          (n, ok, n - ok, secs, ok / secs,
           ",".join("%s=%d" % kv for kv in sorted(why.items())) or "-"),
          flush=True)

    end = time.monotonic() + hold
    marked = False
    while time.monotonic() < end:
        if not marked and end - time.monotonic() <= WINDOW:
            for c in conns:
                c.mark = c.bytes
            marked = True
        for key, ev in sel.select(0.2):
            on_event(key.data, ev)
    if not marked:
        for c in conns:
            c.mark = 0
    window = min(WINDOW, hold)
    alive = sum(1 for c in conns if c.state == "up")
    # at least one byte in the window: the trickle server is Python on
    # two shared cores and may fall behind its 1 byte/s, but a stuck
    # connection gets none at all
    got = sorted(c.bytes - c.mark for c in conns if c.state == "up")
    receiving = sum(1 for g in got if g >= 1)
    closed = sum(1 for c in conns if c.closed)
    total = sum(c.bytes for c in conns)
    # Reset, not FIN: a close leaves tens of thousands of TIME_WAIT
    # sockets behind in the client and concentrator namespaces, and
    # connect()'s port search then slows the next run down threefold.
    linger0 = struct.pack("ii", 1, 0)
    for c in conns:
        if c.state != "dead":
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
            c.sock.close()
    print("held alive=%d receiving=%d closed=%d bytes=%d window=%.0f "
          "window_bytes_min=%d median=%d why=%s" %
          (alive, receiving, closed, total, window,
           got[0] if got else 0, got[len(got) // 2] if got else 0,
           ",".join("%s=%d" % kv for kv in sorted(why.items())) or "-"),
          flush=True)
    return 0 if alive == n and receiving == n else 1


def main():
    a = sys.argv[1:]
    if a and a[0] == "serve" and len(a) == 3:
        serve(a[1], int(a[2]))
        return 0
    if a and a[0] == "client" and len(a) in (6, 7):
        return client(int(a[1]), a[2], int(a[3]), int(a[4]), float(a[5]),
                      int(a[6]) if len(a) == 7 else 200)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
