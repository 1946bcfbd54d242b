#!/usr/bin/python3
"""Small socket helpers for the mpsocks integration tests.

Run with Debian's /usr/bin/python3 (standard library only), inside a test
namespace via "ip netns exec". Subcommands:

  serve-bytes [--mptcp] ADDR PORT NBYTES
        accept one connection, send NBYTES, close; print what happened
  fetch [--mptcp] ADDR PORT
        connect, read to EOF; print "bytes=N seconds=S rate_bps=R mptcp=0|1"
  listen-log ADDR PORT LOGFILE
        accept forever; append "accepted PEER" to LOGFILE per connection
  eof-server ADDR PORT LOGFILE
        accept forever; per connection either
          - "client-first": read to EOF, then reply "got N sha256=H\\n", close
          - "server-first" (first byte "S"): send "hello\\n", SHUT_WR, read to
            EOF, log "server-first got N sha256=H" to LOGFILE, close
  socks-halfclose PROXY_ADDR PROXY_PORT DST_ADDR DST_PORT client-first|server-first|before-reply
        SOCKS5 CONNECT through the proxy, then exercise a half-close:
          client-first: send 100000 bytes, SHUT_WR, expect the server's
                        "got 100000 sha256=..." reply, then EOF
          server-first: send "S", read "hello" and EOF, then send 1 MB more
                        and SHUT_WR; exit 0 once the proxy closes
        prints what it saw; exit 0 on success
  connect-halfclose PROXY_ADDR PROXY_PORT DST_ADDR DST_PORT
        HTTP CONNECT head, 20000 bytes and SHUT_WR in one go, before the
        proxy's 200, to an eof-server: the proxy must still answer 200,
        relay the bytes and the EOF, and bring back the server's "got
        20000 sha256=..." line, then EOF. Prints the proxy's status line
        and the reply; exit 0 on success
  socks-request [--user NAME:PASS] [--rsv N] PROXY_ADDR PROXY_PORT CMD ATYP ADDR PORT
        raw SOCKS5: greeting (method 0, or 2 with --user), then a request
        with command CMD and address type ATYP (decimal). ADDR is an IPv4
        address (ATYP 1), a name (3), an IPv6 address (4), or hex bytes
        for any other ATYP. Prints "method=0xMM", "auth=0xSS", "rep=0xRR",
        then how the proxy ended it ("then=eof|reset|open"); exit 0 if a
        reply came, 2 if the method was refused, 1 otherwise
  auth-flood http|socks5 PROXY_ADDR PROXY_PORT N USER:PASS TARGET
        N connections one after another, each with the credentials
        USER:PASS: an HTTP GET of http://TARGET/auth-flood with
        Proxy-Authorization, or a SOCKS5 username/password
        sub-negotiation. Prints
        "tries=N refused=R other=O seconds=S" (refused: HTTP 407, or a
        SOCKS5 auth status other than 0); exit 0 if all N were refused
  hold ADDR PORT N SECONDS [HEX]
        open N connections (sending HEX on each, if given), wait 1.5 s,
        print "opened=O failed=F closed_early=C"; hold the rest open for
        SECONDS, then print "still_open=K" and close them all
  drip ADDR PORT MAXWAIT
        connect and send an HTTP request head one byte every 0.5 s,
        never finishing it; print "closed after=S" once the peer closes
        (exit 0), or "open after=MAXWAIT" (exit 1)
  send-close ADDR PORT HEX
        connect, send the bytes HEX (may be ""), close at once
  silent-server ADDR PORT LOGFILE
        accept forever; never send; log "accepted PEER" and, when the peer
        goes, "closed PEER how=eof|reset bytes=N after=S" to LOGFILE
  socks-idle PROXY_ADDR PROXY_PORT DST_ADDR DST_PORT MAXWAIT
        SOCKS5 CONNECT, send nothing, wait up to MAXWAIT seconds for the
        proxy to close; prints "closed how=eof|reset after=S"; exit 0 if
        it closed, 1 if still open
  dns-nxdomain ADDR PORT LOGFILE
        a UDP DNS server that answers every query NXDOMAIN; logs
        "query NAME type=T" to LOGFILE
  tunnel-finreset SERVER_ADDR SERVER_PORT KEYFILE DST_ADDR DST_PORT PATH WAIT
        speaks the tunnel protocol (docs/protocol.md) to mpsocks-server
        over MPTCP like mpsocks-local: a CONNECT to DST_ADDR:DST_PORT with
        "GET /PATH" as early data; reads the reply, then nothing for WAIT
        seconds (the server's data to us backs up), then sends DATA_FIN
        (shutdown) and at once MP_FASTCLOSE (SO_LINGER {1,0} + close), as a
        home whose app half-closed and then vanished does. Prints the
        reply status; exit 0 if it was 0
  http-raw [--shut] ADDR PORT INFILE OUTFILE MAXWAIT
  split-connect IN PREFIX
        connect, send the bytes of INFILE in one send (then SHUT_WR, with
        --shut), then read until the peer closes or MAXWAIT seconds pass;
        the bytes received go to OUTFILE. Prints "sent=N got=M
        then=eof|reset|open"
  http-echo ADDR PORT LOGFILE
        a small HTTP/1.1 origin, keep-alive: for every request it reads
        the body (Content-Length or chunked, answering "Expect:
        100-continue"), logs "METHOD PATH framing=cl|chunked|none len=N
        sha256=H peer=ADDR fields=NAME,NAME..." (the header field names,
        lower case, in order) to LOGFILE and answers 200 with the body
        "len=N sha256=H\\n"
  ping DST COUNT INTERVAL
        ICMP echo requests from a raw socket (there is no ping(8) here),
        one every INTERVAL seconds. One line per probe: "seq=N
        sent=UNIX_TIME rtt_ms=X" or "... lost", then "sent=N received=M
        median_ms=X" (replies later than 2 s count as lost)
  progress FILE STOPFILE MAXSECONDS
        polls FILE's size every 10 ms until STOPFILE exists (or
        MAXSECONDS pass); prints "longest_stall_ms=X stall_start_s=T
        final_bytes=N" (a stall: no growth; measured from the first byte)
"""

import base64
import hashlib
import os
import select
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262


def sock(mptcp):
    proto = IPPROTO_MPTCP if mptcp else socket.IPPROTO_TCP
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)


def is_mptcp(s):
    try:
        return s.getsockopt(socket.IPPROTO_TCP, 43)  # TCP_IS_MPTCP
    except OSError:
        return 0


def listener(addr, port, mptcp=False):
    s = sock(mptcp)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(64)
    return s


def read_to_eof(c, sink=None):
    n = 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            return n
        n += len(b)
        if sink is not None:
            sink.update(b)


def serve_bytes(args):
    mptcp = args[0] == "--mptcp"
    if mptcp:
        args = args[1:]
    addr, port, nbytes = args[0], args[1], int(args[2])
    s = listener(addr, port, mptcp)
    c, peer = s.accept()
    chunk = os.urandom(1 << 16)
    left = nbytes
    t0 = time.monotonic()
    while left > 0:
        c.sendall(chunk[:min(left, len(chunk))])
        left -= min(left, len(chunk))
    c.shutdown(socket.SHUT_WR)
    read_to_eof(c)
    print("served bytes=%d to=%s mptcp=%d seconds=%.3f" %
          (nbytes, peer[0], is_mptcp(c), time.monotonic() - t0))
    c.close()


def fetch(args):
    mptcp = args[0] == "--mptcp"
    if mptcp:
        args = args[1:]
    s = sock(mptcp)
    s.connect((args[0], int(args[1])))
    t0 = time.monotonic()
    n = read_to_eof(s)
    dt = time.monotonic() - t0
    print("bytes=%d seconds=%.3f rate_bps=%.0f mptcp=%d" %
          (n, dt, n / dt if dt > 0 else 0, is_mptcp(s)))
    s.close()


def listen_log(args):
    addr, port, logfile = args
    s = listener(addr, port)
    while True:
        c, peer = s.accept()
        with open(logfile, "a") as f:
            f.write("accepted %s:%d\n" % peer)
        c.close()


def eof_conn(c, logfile):
    try:
        first = c.recv(1)
        if first == b"S":
            c.sendall(b"hello\n")
            c.shutdown(socket.SHUT_WR)
            h = hashlib.sha256()
            n = read_to_eof(c, h)
            with open(logfile, "a") as f:
                f.write("server-first got %d sha256=%s\n" % (n, h.hexdigest()))
        else:
            h = hashlib.sha256(first)
            n = len(first) + read_to_eof(c, h)
            # reply only now: the client's FIN must have come through
            c.sendall(b"got %d sha256=%s\n" % (n, h.hexdigest().encode()))
            with open(logfile, "a") as f:
                f.write("client-first got %d\n" % n)
    except OSError as e:
        with open(logfile, "a") as f:
            f.write("error %s\n" % e)
    finally:
        c.close()


def eof_server(args):
    addr, port, logfile = args
    s = listener(addr, port)
    while True:
        c, _ = s.accept()
        threading.Thread(target=eof_conn, args=(c, logfile),
                         daemon=True).start()


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += x
    return b


def socks_connect(paddr, pport, daddr, dport):
    s = socket.create_connection((paddr, int(pport)), timeout=20)
    s.sendall(b"\x05\x01\x00")
    if recv_exact(s, 2) != b"\x05\x00":
        raise RuntimeError("SOCKS5 method refused")
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(daddr) +
              int(dport).to_bytes(2, "big"))
    rep = recv_exact(s, 4)
    if rep[1] != 0:
        raise RuntimeError("SOCKS5 reply code %d" % rep[1])
    alen = {1: 4, 4: 16}.get(rep[3])
    if alen is None:
        alen = recv_exact(s, 1)[0]
    recv_exact(s, alen + 2)
    return s


def socks_halfclose(args):
    paddr, pport, daddr, dport, mode = args
    if mode == "before-reply":
        return socks_halfclose_early(paddr, pport, daddr, dport)
    s = socks_connect(paddr, pport, daddr, dport)
    if mode == "client-first":
        data = os.urandom(100000)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
        want = b"got %d sha256=%s\n" % (len(data),
                                         hashlib.sha256(data).hexdigest().encode())
        print("client-first reply=%r" % got)
        return 0 if got == want else 1
    # server-first: the destination closes its side first; our side must
    # stay open for writing
    s.sendall(b"S")
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    print("server-first received=%r then EOF" % got)
    if got != b"hello\n":
        return 1
    data = os.urandom(1 << 20)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    print("server-first sent %d after EOF sha256=%s" %
          (len(data), hashlib.sha256(data).hexdigest()))
    # the proxy closes once both directions are done
    s.settimeout(20)
    rest = s.recv(1)
    return 0 if rest == b"" else 1


def socks_halfclose_early(paddr, pport, daddr, dport):
    """Greeting, request and data in one go, then FIN, all before any
    reply: the proxy must still answer, relay, and forward the EOF."""
    s = socket.create_connection((paddr, int(pport)), timeout=20)
    data = os.urandom(20000)
    s.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x01" +
              socket.inet_aton(daddr) + int(dport).to_bytes(2, "big") + data)
    s.shutdown(socket.SHUT_WR)
    try:
        m = recv_exact(s, 2)
        rep = recv_exact(s, 10)
    except (EOFError, OSError) as e:
        print("before-reply: no SOCKS reply (%s)" % e)
        return 1
    print("before-reply method=0x%02x rep=0x%02x" % (m[1], rep[1]))
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    want = b"got %d sha256=%s\n" % (len(data),
                                     hashlib.sha256(data).hexdigest().encode())
    print("before-reply reply=%r" % got)
    return 0 if rep[1] == 0 and got == want else 1


def connect_halfclose(args):
    """CONNECT, tunnel bytes and FIN before the 200, as a script that
    writes its whole input and shuts its write side does (printf | nc -N):
    the FIN must not end the session."""
    paddr, pport, daddr, dport = args
    s = socket.create_connection((paddr, int(pport)), timeout=20)
    data = os.urandom(20000)
    s.sendall(b"CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n" %
              (daddr.encode(), dport.encode(), daddr.encode(),
               dport.encode()) + data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError as e:
        print("before-200: %s after %d bytes" % (e, len(got)))
        return 1
    head, _, rest = got.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0]
    want = b"got %d sha256=%s\n" % (len(data),
                                     hashlib.sha256(data).hexdigest().encode())
    print("before-200 status=%r reply=%r" % (status, rest))
    return 0 if status.startswith(b"HTTP/1.1 200") and rest == want else 1


def auth_try(proto, paddr, pport, user, pw, target):
    """One connection with credentials; True if the proxy refused them."""
    s = socket.create_connection((paddr, int(pport)), timeout=10)
    try:
        if proto == "http":
            cred = base64.b64encode(("%s:%s" % (user, pw)).encode())
            s.sendall(b"GET http://%s/auth-flood HTTP/1.1\r\nHost: %s\r\n"
                      b"Proxy-Authorization: Basic %s\r\n\r\n" %
                      (target.encode(), target.encode(), cred))
            got = b""
            while b"\r\n" not in got:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            return got.startswith(b"HTTP/1.1 407 ")
        u, p = user.encode(), pw.encode()
        s.sendall(b"\x05\x01\x02")
        if recv_exact(s, 2) != b"\x05\x02":
            return False
        s.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
        st = recv_exact(s, 2)
        return st[0] == 1 and st[1] != 0
    except (EOFError, OSError):
        return False
    finally:
        s.close()


def auth_flood(args):
    proto, paddr, pport, n, cred, target = args
    user, _, pw = cred.partition(":")
    refused = other = 0
    t0 = time.monotonic()
    for _ in range(int(n)):
        if auth_try(proto, paddr, pport, user, pw, target):
            refused += 1
        else:
            other += 1
    print("tries=%s refused=%d other=%d seconds=%.2f" %
          (n, refused, other, time.monotonic() - t0))
    return 0 if other == 0 else 1


def hexbytes(h):
    return bytes.fromhex(h) if h else b""


def wait_close(s, maxwait):
    """Reads until EOF or reset; returns (how, seconds) or ("open", S)."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    while True:
        left = maxwait - (time.monotonic() - t0)
        if left <= 0:
            return "open", time.monotonic() - t0
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return "reset", time.monotonic() - t0
        if not b:
            return "eof", time.monotonic() - t0


def encode_addr(atyp, addr):
    if atyp == 1:
        return socket.inet_aton(addr)
    if atyp == 3:
        return bytes([len(addr)]) + addr.encode()
    if atyp == 4:
        return socket.inet_pton(socket.AF_INET6, addr)
    return hexbytes(addr)


def socks_request(args):
    user, rsv = None, 0
    if args[0] == "--user":
        user, args = args[1], args[2:]
    if args[0] == "--rsv":
        rsv, args = int(args[1], 0), args[2:]
    paddr, pport, cmd, atyp, addr, dport = args
    cmd, atyp = int(cmd), int(atyp)
    s = socket.create_connection((paddr, int(pport)), timeout=30)
    s.sendall(b"\x05\x01" + (b"\x02" if user else b"\x00"))
    try:
        m = recv_exact(s, 2)
    except (EOFError, OSError) as e:
        print("greeting: no method reply (%s)" % e)
        return 1
    print("method=0x%02x" % m[1])
    if m[1] == 0xFF:
        how, secs = wait_close(s, 10)
        print("then=%s after=%.2f" % (how, secs))
        return 2
    if m[1] == 0x02:
        name, pw = user.split(":", 1)
        s.sendall(b"\x01" + bytes([len(name)]) + name.encode() +
                  bytes([len(pw)]) + pw.encode())
        a = recv_exact(s, 2)
        print("auth=0x%02x" % a[1])
        if a[1] != 0:
            return 1
    elif m[1] != 0x00:
        return 1
    s.sendall(b"\x05" + bytes([cmd, rsv, atyp]) + encode_addr(atyp, addr) +
              int(dport).to_bytes(2, "big"))
    t0 = time.monotonic()
    try:
        rep = recv_exact(s, 4)
    except (EOFError, OSError) as e:
        print("request: no reply (%s) after=%.2f" % (e, time.monotonic() - t0))
        return 1
    print("rep=0x%02x atyp=0x%02x after=%.2f" % (rep[1], rep[3],
                                                  time.monotonic() - t0))
    if rep[1] != 0:
        how, secs = wait_close(s, 10)
        print("then=%s after=%.2f" % (how, secs))
    return 0


def peer_closed(s):
    """True if the peer has closed or reset s (non-blocking peek)."""
    s.settimeout(0)		# else recv waits out the timeout first
    try:
        return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def hold(args):
    import resource
    addr, port, n, secs = args[0], int(args[1]), int(args[2]), float(args[3])
    data = hexbytes(args[4]) if len(args) > 4 else b""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks, failed = [], 0
    for _ in range(n):
        try:
            s = socket.create_connection((addr, port), timeout=3)
            if data:
                s.sendall(data)
            socks.append(s)
        except OSError:
            failed += 1
    time.sleep(1.5)
    early = [s for s in socks if peer_closed(s)]
    print("opened=%d failed=%d closed_early=%d" % (len(socks), failed,
                                                  len(early)), flush=True)
    time.sleep(secs)
    print("still_open=%d" % sum(1 for s in socks if not peer_closed(s)),
          flush=True)
    for s in socks:
        s.close()


def drip(args):
    addr, port, maxwait = args[0], int(args[1]), float(args[2])
    head = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: " + \
        b"a" * 4000
    s = socket.create_connection((addr, port), timeout=5)
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < maxwait:
        if peer_closed(s):
            print("closed after=%.1f" % (time.monotonic() - t0))
            return 0
        try:
            s.send(head[i % len(head):i % len(head) + 1])
        except OSError:
            print("closed after=%.1f" % (time.monotonic() - t0))
            return 0
        i += 1
        time.sleep(0.5)
    print("open after=%.1f" % (time.monotonic() - t0))
    return 1


def send_close(args):
    addr, port, h = args
    s = socket.create_connection((addr, int(port)), timeout=10)
    data = hexbytes(h)
    if data:
        s.sendall(data)
    s.close()
    print("sent %d bytes, closed" % len(data))


def silent_conn(c, peer, logfile):
    t0 = time.monotonic()
    n = 0
    how = "eof"
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
    except ConnectionResetError:
        how = "reset"
    except OSError as e:
        how = "error:%s" % e
    with open(logfile, "a") as f:
        f.write("closed %s:%d how=%s bytes=%d after=%.2f\n" %
                (peer[0], peer[1], how, n, time.monotonic() - t0))
    c.close()


def silent_server(args):
    addr, port, logfile = args
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(64)
    while True:
        c, peer = s.accept()
        with open(logfile, "a") as f:
            f.write("accepted %s:%d\n" % (peer[0], peer[1]))
        threading.Thread(target=silent_conn, args=(c, peer, logfile),
                         daemon=True).start()


def socks_idle(args):
    paddr, pport, daddr, dport, maxwait = args
    s = socks_connect(paddr, pport, daddr, dport)
    print("connected through the proxy; sending nothing")
    how, secs = wait_close(s, float(maxwait))
    if how == "open":
        print("still open after %.2f s" % secs)
        return 1
    print("closed how=%s after=%.2f" % (how, secs))
    return 0


def dns_nxdomain(args):
    addr, port, logfile = args
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) < 12:
            continue
        # the question: QNAME labels, then QTYPE and QCLASS
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        i += 1
        if i + 4 > len(q):
            continue
        qtype = int.from_bytes(q[i:i + 2], "big")
        question = q[12:i + 4]
        # QR=1, the query's opcode and RD, RA=1, RCODE=3 (NXDOMAIN)
        flags = 0x8000 | (q[2] << 8 & 0x7900) | 0x0080 | 3
        r = q[0:2] + flags.to_bytes(2, "big") + b"\x00\x01" + \
            b"\x00\x00" * 3 + question
        s.sendto(r, peer)
        with open(logfile, "a") as f:
            f.write("query %s type=%d\n" % (".".join(labels), qtype))


def tunnel_finreset(args):
    import base64
    import hmac
    import struct
    saddr, sport, keyfile, daddr, dport, path, wait = args
    with open(keyfile) as f:
        words = f.read().split()
    key = base64.b64decode(words[-1])
    key_id = hmac.new(key, b"mpsocks key id v1", hashlib.sha256).digest()[:8]
    target = b"\x01" + socket.inet_aton(daddr) + int(dport).to_bytes(2, "big")
    total = 38 + len(target) + 2 + 32
    hdr = struct.pack(">BBHHQ", 1, 1, total, 0, int(time.time() * 1000)) + \
        os.urandom(16) + key_id + target + b"\x00\x00"
    hdr += hmac.new(key, hdr, hashlib.sha256).digest()
    s = sock(True)
    s.settimeout(20)
    s.connect((saddr, int(sport)))
    s.sendall(hdr + b"GET /" + path.encode() + b" HTTP/1.0\r\n\r\n")
    rep = recv_exact(s, 4)
    ext = recv_exact(s, int.from_bytes(rep[2:4], "big"))
    recv_exact(s, 16)
    print("reply status=%d mptcp=%d" % (rep[1], is_mptcp(s)))
    if rep[1] != 0:
        return 1
    time.sleep(float(wait))
    s.shutdown(socket.SHUT_WR)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("sent DATA_FIN, then MP_FASTCLOSE")
    return 0


def http_raw(args):
    shut = args[:1] == ["--shut"]
    if shut:
        args = args[1:]
    addr, port, infile, outfile, maxwait = args
    with open(infile, "rb") as f:
        data = f.read()
    s = socket.create_connection((addr, int(port)), timeout=10)
    sent = 0
    try:
        # one send for a small request: its bytes leave in one segment
        sent = s.send(data)
        if sent < len(data):
            s.sendall(data[sent:])
            sent = len(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the proxy may answer and close before reading it all
    if shut:
        s.shutdown(socket.SHUT_WR)
    got = bytearray()
    how = "open"
    t0 = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - t0 < float(maxwait):
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            how = "reset"
            break
        if not b:
            how = "eof"
            break
        got += b
    with open(outfile, "wb") as f:
        f.write(got)
    print("sent=%d got=%d then=%s" % (sent, len(got), how))
    s.close()
    return 0


def echo_body(rf, headers):
    """Reads one request body as framed by headers; returns (framing,
    bytes)."""
    te = headers.get("transfer-encoding", "").lower()
    if te.endswith("chunked"):
        body = bytearray()
        while True:
            line = rf.readline(1024)
            if not line:
                raise EOFError("eof in chunk size")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while rf.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields
                return "chunked", bytes(body)
            body += rf.read(size)
            rf.readline(16)  # CRLF after the chunk
    if "content-length" in headers:
        n = int(headers["content-length"])
        body = rf.read(n)
        if len(body) != n:
            raise EOFError("eof in body")
        return "cl", body
    return "none", b""


def echo_conn(c, peer, logfile):
    rf = c.makefile("rb")
    try:
        while True:
            line = rf.readline(65536)
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            method, path, version = line.decode("latin-1").split()
            headers = {}
            names = []
            while True:
                h = rf.readline(65536)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
                names.append(k.strip().lower())
            if headers.get("expect", "").lower() == "100-continue":
                c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            framing, body = echo_body(rf, headers)
            digest = hashlib.sha256(body).hexdigest()
            with open(logfile, "a") as f:
                f.write("%s %s framing=%s len=%d sha256=%s peer=%s "
                        "fields=%s\n" % (method, path, framing, len(body),
                                          digest, peer[0],
                                          ",".join(names)))
            close = (version == "HTTP/1.0" or
                     headers.get("connection", "").lower() == "close")
            reply = ("len=%d sha256=%s\n" % (len(body), digest)).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: %d\r\n%s\r\n" %
                      (len(reply), b"Connection: close\r\n" if close
                       else b"") + reply)
            if close:
                return
    except (OSError, ValueError, EOFError) as e:
        with open(logfile, "a") as f:
            f.write("error %s peer=%s\n" % (e, peer[0]))
    finally:
        rf.close()
        c.close()


def http_echo(args):
    addr, port, logfile = args
    s = listener(addr, port)
    while True:
        c, peer = s.accept()
        threading.Thread(target=echo_conn, args=(c, peer, logfile),
                         daemon=True).start()


def icmp_csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def ping(args):
    dst, count, interval = args[0], int(args[1]), float(args[2])
    ident = os.getpid() & 0xffff
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sent_mono, sent_wall, rtt = {}, {}, {}
    nxt = time.monotonic()
    seq = 0
    end = None
    while True:
        now = time.monotonic()
        if seq < count and now >= nxt:
            body = struct.pack("!HH", ident, seq) + b"mpsocks-probe"
            pkt = struct.pack("!BBH", 8, 0,
                              icmp_csum(b"\x08\0\0\0" + body)) + body
            sent_wall[seq] = time.time()
            sent_mono[seq] = time.monotonic()
            s.sendto(pkt, (dst, 0))
            seq += 1
            nxt += interval
            if seq == count:
                end = time.monotonic() + 2.0
            continue
        if end is not None and (now >= end or len(rtt) == count):
            break
        wait = (nxt if seq < count else end) - now
        if select.select([s], [], [], max(wait, 0))[0]:
            data = s.recv(2048)
            t = time.monotonic()
            ihl = (data[0] & 15) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH",
                                                 data[ihl:ihl + 8])
            if typ == 0 and rid == ident and rseq in sent_mono \
                    and rseq not in rtt:
                rtt[rseq] = (t - sent_mono[rseq]) * 1000
    for i in range(count):
        r = "rtt_ms=%.3f" % rtt[i] if i in rtt else "lost"
        print("seq=%d sent=%.6f %s" % (i, sent_wall[i], r))
    v = sorted(rtt.values())
    n = len(v)
    med = -1 if n == 0 else v[n // 2] if n % 2 else \
        (v[n // 2 - 1] + v[n // 2]) / 2
    print("sent=%d received=%d median_ms=%.3f" % (count, len(v), med))


def progress(args):
    path, stop, maxs = args[0], args[1], float(args[2])
    t0 = time.monotonic()
    last_size, last_t, first = -1, None, None
    longest, longest_at = 0.0, 0.0
    while time.monotonic() - t0 < maxs:
        now = time.monotonic()
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            size = 0
        if size > last_size:
            if first is None and size > 0:
                first = now
            elif last_t is not None and now - last_t > longest:
                longest, longest_at = now - last_t, last_t - t0
            last_size, last_t = size, now
        if os.path.exists(stop):
            break
        time.sleep(0.01)
    if last_t is not None and time.monotonic() - last_t > longest:
        longest, longest_at = time.monotonic() - last_t, last_t - t0
    print("longest_stall_ms=%.0f stall_start_s=%.1f final_bytes=%d"
          % (longest * 1000, longest_at, max(last_size, 0)))


def split_connect(args):
    """split-connect IN PREFIX: a CONNECT's raw answer (the proxy's head,
    then the origin's head and body) into PREFIX.proxy, PREFIX.origin and
    PREFIX.body"""
    src, prefix = args
    with open(src, "rb") as f:
        d = f.read()
    a, _, rest = d.partition(b"\r\n\r\n")
    b, _, body = rest.partition(b"\r\n\r\n")
    for suffix, part in ((".proxy", a), (".origin", b), (".body", body)):
        with open(prefix + suffix, "wb") as f:
            f.write(part)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve-bytes":
        serve_bytes(args)
    elif cmd == "fetch":
        fetch(args)
    elif cmd == "listen-log":
        listen_log(args)
    elif cmd == "eof-server":
        eof_server(args)
    elif cmd == "socks-halfclose":
        return socks_halfclose(args)
    elif cmd == "connect-halfclose":
        return connect_halfclose(args)
    elif cmd == "socks-request":
        return socks_request(args)
    elif cmd == "auth-flood":
        return auth_flood(args)
    elif cmd == "hold":
        hold(args)
    elif cmd == "drip":
        return drip(args)
    elif cmd == "send-close":
        send_close(args)
    elif cmd == "silent-server":
        silent_server(args)
    elif cmd == "socks-idle":
        return socks_idle(args)
    elif cmd == "dns-nxdomain":
        dns_nxdomain(args)
    elif cmd == "tunnel-finreset":
        return tunnel_finreset(args)
    elif cmd == "http-raw":
        return http_raw(args)
    elif cmd == "split-connect":
        split_connect(args)
    elif cmd == "http-echo":
        http_echo(args)
    elif cmd == "ping":
        ping(args)
    elif cmd == "progress":
        progress(args)
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
