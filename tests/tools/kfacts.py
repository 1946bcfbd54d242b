#!/usr/bin/python3
"""Helpers for tests/bench/kfacts_failover.sh (kernel facts for failover).

  kfacts.py serve ADDR PORT             MPTCP listener; each accepted
                                        connection gets random bytes as fast
                                        as it takes them, until it closes
  kfacts.py recv ADDR PORT SECS LOG IF...
                                        MPTCP client: reads for SECS seconds,
                                        every 20 ms one JSON line into LOG:
                                        time, app bytes, rx bytes of each
                                        IF, and per subflow (MPTCP_TCPINFO +
                                        MPTCP_SUBFLOW_ADDRS) the local
                                        address, bytes_received, state,
                                        backoff, rto; plus each read gap
                                        over 50 ms
  kfacts.py analyse LOG EVENTS ADDR...  per event: bytes per 100 ms around
                                        it, the longest read gap after it,
                                        subflow changes, and when each
                                        ADDR's subflows carry bytes again
  kfacts.py connect ADDR PORT           one connection, prints
                                        "mptcp=0|1 seconds=S"
"""
import ctypes
import json
import os
import select
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_TCPINFO = 2
MPTCP_SUBFLOW_ADDRS = 3
TCP_IS_MPTCP = 43
TCPI_LEN = 280          # struct tcp_info on 6.18
ADDRS_LEN = 256         # struct mptcp_subflow_addrs (two sockaddr_storage)
MAXSF = 8


def serve(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(16)
    chunk = os.urandom(1 << 16)

    def pump(c):
        try:
            while True:
                c.sendall(chunk)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=pump, args=(c,), daemon=True).start()


LIBC = ctypes.CDLL(None, use_errno=True)


def subflow_data(s, opt, elem):
    # Python's getsockopt cannot pass the input header the kernel wants
    # (size_subflow_data, size_user), so through libc
    size = 16 + elem * MAXSF
    raw = ctypes.create_string_buffer(struct.pack("IIII", 16, 0, 0, elem),
                                      size)
    ln = ctypes.c_uint32(size)
    if LIBC.getsockopt(s.fileno(), SOL_MPTCP, opt, raw,
                       ctypes.byref(ln)) != 0:
        raise OSError(ctypes.get_errno(), "getsockopt")
    buf = raw.raw[:ln.value]
    _, num, ksize, _ = struct.unpack_from("IIII", buf)
    step = min(ksize, elem)
    return [buf[16 + i * step:16 + (i + 1) * step]
            for i in range(min(num, MAXSF))]


def subflows(s):
    try:
        infos = subflow_data(s, MPTCP_TCPINFO, TCPI_LEN)
        addrs = subflow_data(s, MPTCP_SUBFLOW_ADDRS, ADDRS_LEN)
    except OSError:
        return []
    out = []
    for ti, ad in zip(infos, addrs):
        state, _, _, _, backoff = struct.unpack_from("BBBBB", ti)
        rto = struct.unpack_from("I", ti, 8)[0]
        brecv = struct.unpack_from("Q", ti, 128)[0]
        lport = struct.unpack_from("!H", ad, 2)[0]
        laddr = socket.inet_ntoa(ad[4:8])
        out.append({"a": laddr, "p": lport, "b": brecv, "st": state,
                    "bo": backoff, "rto": rto // 1000})
    return out


def ifrx(dev):
    with open("/sys/class/net/%s/statistics/rx_bytes" % dev) as f:
        return int(f.read())


def recv(addr, port, secs, log, devs):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.connect((addr, int(port)))
    s.setblocking(False)
    out = open(log, "w")
    t0 = time.time()
    end = t0 + float(secs)
    total = 0
    last_data = t0
    next_sample = t0
    mptcp = s.getsockopt(socket.IPPROTO_TCP, TCP_IS_MPTCP)
    out.write(json.dumps({"start": t0, "mptcp": mptcp}) + "\n")
    while True:
        now = time.time()
        if now >= end:
            break
        r, _, _ = select.select([s], [], [], min(0.005, end - now))
        now = time.time()
        if r:
            try:
                b = s.recv(1 << 20)
            except BlockingIOError:
                b = b"x"[:0]
                continue
            if not b:
                break
            if now - last_data > 0.05:
                out.write(json.dumps({"gap": [last_data, now]}) + "\n")
            last_data = now
            total += len(b)
        if now >= next_sample:
            rec = {"t": now, "n": total, "rx": [ifrx(d) for d in devs],
                   "sf": subflows(s)}
            out.write(json.dumps(rec) + "\n")
            next_sample += 0.02
    out.close()
    # abortive close (MP_FASTCLOSE): the server stops at once instead of
    # filling the next experiment's links
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def analyse(log, events, addrs):
    samples, gaps = [], []
    for line in open(log):
        r = json.loads(line)
        if "t" in r:
            samples.append(r)
        elif "gap" in r:
            gaps.append(r["gap"])
    evs = []
    for line in open(events):
        t, name = line.split(None, 1)
        evs.append((float(t), name.strip()))
    t0 = samples[0]["t"]

    def at(t):
        best = samples[0]
        for smp in samples:
            if smp["t"] > t:
                break
            best = smp
        return best

    def by_addr(smp):
        d = {}
        for sf in smp["sf"]:
            d.setdefault(sf["a"], []).append(sf)
        return d

    # subflow set changes
    prev = None
    changes = []
    for smp in samples:
        cur = sorted("%s:%d" % (x["a"], x["p"]) for x in smp["sf"])
        if cur != prev:
            changes.append((smp["t"] - t0, cur))
            prev = cur
    print("subflow set changes (s since start: local addr:port):")
    for t, cur in changes:
        print("  %6.2f %s" % (t, " ".join(cur) or "-"))
    dur = samples[-1]["t"] - t0
    print("total %.1f MB in %.1f s = %.1f Mbit/s" %
          (samples[-1]["n"] / 1e6, dur, samples[-1]["n"] * 8 / dur / 1e6))
    for i, (te, name) in enumerate(evs):
        tnext = evs[i + 1][0] if i + 1 < len(evs) else samples[-1]["t"]
        print("event %-22s at %6.2f s" % (name, te - t0))
        row = []
        for k in range(-5, 30):
            a, b = at(te + k * 0.1), at(te + (k + 1) * 0.1)
            row.append("%d" % ((b["n"] - a["n"]) // 1000))
        print("  kB per 100 ms from -0.5 s to +3 s: " + " ".join(row))
        g = [(g1 - g0, g0) for g0, g1 in gaps if te - 0.05 <= g1 and
             g0 <= tnext]
        if g:
            m = max(g)
            print("  longest read gap until next event: %.0f ms, from "
                  "%+.2f s" % (m[0] * 1000, m[1] - te))
        else:
            print("  longest read gap until next event: < 50 ms")
        for ad in addrs:
            # first sample after the event where this address's subflows
            # received more bytes than at the previous sample
            first = None
            prevb = None
            for smp in samples:
                if smp["t"] < te:
                    continue
                if smp["t"] > tnext:
                    break
                cur = {x["p"]: x["b"] for x in smp["sf"] if x["a"] == ad}
                if prevb is not None:
                    grew = sum(b - prevb.get(p, 0) for p, b in cur.items()
                               if b > prevb.get(p, 0))
                    if grew > 0 and first is None:
                        first = smp["t"] - te
                    # stop-time: last growth
                prevb = cur
            sfs = by_addr(at(te + 0.5)).get(ad, [])
            print("  %s: subflows at +0.5 s: %d; first bytes after the "
                  "event at %s" % (ad, len(sfs),
                                   "%+.2f s" % first if first is not None
                                   else "never (until next event)"))
        # bytes per address in [te, tnext], summed per subflow over
        # consecutive samples (a subflow that closes keeps what it got)
        got = {}
        last = {}
        for smp in samples:
            if smp["t"] < te or smp["t"] > tnext:
                continue
            for x in smp["sf"]:
                k = (x["a"], x["p"])
                if k in last:
                    got[x["a"]] = got.get(x["a"], 0) + x["b"] - last[k]
                last[k] = x["b"]
        print("  subflow bytes until next event: " + ", ".join(
            "%s %.1f MB" % (ad, got.get(ad, 0) / 1e6) for ad in addrs))
        sm = at(te + 0.5)
        print("  subflows at +0.5 s (addr:port state backoff rto_ms): " +
              " ".join("%s:%d st=%d bo=%d rto=%d" %
                       (x["a"], x["p"], x["st"], x["bo"], x["rto"])
                       for x in sm["sf"]))
        a, b = at(te), at(tnext)
        rxa, rxb = a["rx"], b["rx"]
        print("  interface rx until next event (MB): " +
              " ".join("%.1f" % ((y - x) / 1e6) for x, y in zip(rxa, rxb)))


def connect(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    t0 = time.time()
    s.settimeout(30)
    try:
        s.connect((addr, int(port)))
    except OSError as e:
        print("error=%s seconds=%.2f" % (e, time.time() - t0))
        return
    print("mptcp=%d seconds=%.2f" %
          (s.getsockopt(socket.IPPROTO_TCP, TCP_IS_MPTCP), time.time() - t0))
    s.close()


def main():
    a = sys.argv[1:]
    if a[0] == "serve":
        serve(a[1], a[2])
    elif a[0] == "recv":
        recv(a[1], a[2], a[3], a[4], a[5:])
    elif a[0] == "analyse":
        analyse(a[1], a[2], a[3:])
    elif a[0] == "connect":
        connect(a[1], a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
