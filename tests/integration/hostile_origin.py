#!/usr/bin/env python3
"""A raw HTTP origin that answers each request by its path with one of
the hostile responses of t_http_hostile.sh (standard library only).

  hostile_origin.py ADDR PORT

GET /b answers a clean 200 ("V-CLEAN!", the victim's body); GET /ok a
clean 200 too. Any other path names a case below: its bytes are sent at
once, then its later bytes 0.3 s on. "EVIL" marks every byte that must
never reach the client as another request's answer.
"""
import socket
import sys
import threading
import time

# a whole response, as a smuggled answer would look
EVIL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n"
H = b"HTTP/1.1 200 OK\r\n"

CASES = {
    # no body, whatever the fields say; the bytes come later
    "204cl": (b"HTTP/1.1 204 No Content\r\nContent-Length: %d\r\n\r\n"
              % len(EVIL), EVIL),
    "304body": (b"HTTP/1.1 304 Not Modified\r\nContent-Length: %d\r\n\r\n"
                % len(EVIL), EVIL),
    "headbody": (H + b"Content-Length: %d\r\n\r\n" % len(EVIL) + EVIL, b""),
    # ambiguous heads: 502
    "barelf-status": (b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n" + EVIL,
                      b""),
    "barelf-header": (H + b"Content-Length: 0\n\r\n" + EVIL, b""),
    "obsfold": (H + b"X-A: 1\r\n Content-Length: 40\r\nContent-Length: 0"
                b"\r\n\r\n" + EVIL, b""),
    "twocl": (H + b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n"
              % len(EVIL) + EVIL, b""),
    "clte": (H + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"%x\r\n" % len(EVIL) + EVIL + b"\r\n0\r\n\r\n", b""),
    "101": (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\n\r\n" + EVIL, b""),
    # bad chunked bodies: the head is out, so a close
    "badext": (H + b"Transfer-Encoding: chunked\r\n\r\n2;a\nb\r\nok\r\n"
               b"0\r\n\r\n" + EVIL, b""),
    "badterm": (H + b"Transfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n"
                + EVIL, b""),
    "trailercl": (H + b"Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(EVIL) + EVIL, b""),
}


def read_head(c, buf):
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return None, buf
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def serve(c):
    buf = b""
    try:
        while True:
            head, buf = read_head(c, buf)
            if head is None:
                return
            path = head.split(b" ", 2)[1].decode("latin-1").lstrip("/")
            if path in ("b", "ok"):
                c.sendall(OK + b"V-CLEAN!")
                continue
            now, later = CASES.get(path, (OK + b"NO-CASE!", b""))
            c.sendall(now)
            if later:
                time.sleep(0.3)
                c.sendall(later)
    except OSError:
        pass
    finally:
        c.close()


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
