#!/bin/bash
# The relay's copy method per direction (src/common/relay.c): splice() through a
# pipe where the bytes come from plain TCP, read/write where they come
# from MPTCP, and pipes held only while a chunk is in flight. Splicing
# needs a plain tunnel: mpsocks-local runs with --encryption none (a TLS
# leg passes OpenSSL and is never spliced; t_tls covers that mode).
#   - a 64 MB download and a 32 MB PUT upload through curl are byte-exact
#     (sha256); during the download the concentrator holds a pipe (it
#     splices destination -> tunnel) and mpsocks-local none (it reads the
#     MPTCP tunnel); during the upload the other way round
#   - half-close after spliced data, both ways: the app sends 4 MB and its
#     FIN, then reads slowly while the destination answers 8 MB and closes
#     at once (its FIN arrives while bytes still wait in a pipe): every
#     byte arrives before the FIN, both ways
#   - an idle relay holds no pipe: within 10 s after it moved 1 MB (the
#     pool closes unused pipes after 1 to 2 s), while it is still open,
#     both daemons hold exactly their starting pipes
#   - no pipe to be had (mpsocks-local's descriptor limit leaves room for
#     the two sockets only): an 8 MB upload is still byte-exact over
#     read/write, and the daemon says event=splice_off
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
command -v prlimit >/dev/null || bed_skip "prlimit (util-linux) not installed"
bed_setup 1gbit 1gbit
dl=$(bed_make_file dl.bin 64)
up=$(bed_make_file up.bin 32)
head -c $((8 * 1048576)) /dev/urandom >"$BED_TMP/up8.bin"
bed_nginx_start
bed_server_start --splice
bed_local_start --splice --encryption none
proxy=127.0.0.1:$BED_LOCAL_PORT
spid=$(bed_pid server)
lpid=$(bed_pid local)

# The destination and the app for the raw tests; reuses nettool.py.
tool=$BED_TMP/splice_tool.py
cat >"$tool" <<'EOF'
import hashlib, os, socket, sys, threading, time
sys.path.insert(0, sys.argv[1])
import nettool

def conn(c):
    try:
        cmd = nettool.recv_exact(c, 1)
        if cmd == b"H":     # half-close: read to EOF, then answer M bytes
            m = int.from_bytes(nettool.recv_exact(c, 4), "big")
            h = hashlib.sha256()
            n = nettool.read_to_eof(c, h)
            out = os.urandom(m)
            c.sendall(b"got %d %s %s\n" % (n, h.hexdigest().encode(),
                      hashlib.sha256(out).hexdigest().encode()))
            c.sendall(out)
        elif cmd == b"I":   # idle: 1 MB, then silence until the peer closes
            c.sendall(os.urandom(1 << 20))
            nettool.read_to_eof(c)
    except OSError:
        pass
    finally:
        c.close()

def dst(addr, port):
    s = nettool.listener(addr, port)
    while True:
        c, _ = s.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()

def halfclose(pport, daddr, dport, n, m):
    s = nettool.socks_connect("127.0.0.1", pport, daddr, dport)
    s.settimeout(60)
    data = os.urandom(n)
    s.sendall(b"H" + m.to_bytes(4, "big") + data)
    s.shutdown(socket.SHUT_WR)
    time.sleep(1)           # let the answer pile up in the relays
    got = b""
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        got += b
    line, _, body = got.partition(b"\n")
    want = "got %d %s" % (n, hashlib.sha256(data).hexdigest())
    print("sent %d, answer %r, then %d bytes and EOF" %
          (n, line[:160], len(body)))
    ok = line.decode().startswith(want + " ") and len(body) == m and \
        line.decode().split()[3] == hashlib.sha256(body).hexdigest()
    return 0 if ok else 1

def idle(pport, daddr, dport, secs):
    s = nettool.socks_connect("127.0.0.1", pport, daddr, dport)
    s.settimeout(30)
    s.sendall(b"I")
    nettool.recv_exact(s, 1 << 20)
    print("got 1 MB, now idle", flush=True)
    time.sleep(secs)
    s.setblocking(False)
    try:
        b = s.recv(1)
        print("closed during the idle time" if b == b"" else "unexpected byte")
        return 1
    except BlockingIOError:
        print("still open after %.1f s idle" % secs)
        return 0

cmd, a = sys.argv[2], sys.argv[3:]
if cmd == "dst":
    dst(a[0], a[1])
elif cmd == "halfclose":
    sys.exit(halfclose(a[0], a[1], a[2], int(a[3]), int(a[4])))
elif cmd == "idle":
    sys.exit(idle(a[0], a[1], a[2], float(a[3])))
EOF
port=$((BED_HTTP_PORT + 2))
bed_spawn splicedst "$NS_DST" "$BED_TMP/splicedst.log" \
    "$PY" "$tool" "$BED_LIB_DIR" dst "$BED_DST_IP" "$port"
bed_wait_port "$NS_DST" "$port"

pipes() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'pipe:' || true; }
# sample_pipes FILE: the most pipes each daemon held, every 20 ms, until
# FILE.stop exists; writes "server local" to FILE
sample_pipes() {
	local f=$1 ms=0 ml=0 n
	while [ ! -e "$f.stop" ]; do
		n=$(pipes "$spid"); [ "$n" -gt "$ms" ] && ms=$n
		n=$(pipes "$lpid"); [ "$n" -gt "$ml" ] && ml=$n
		sleep 0.02
	done
	echo "$ms $ml" >"$f"
}
# during NAME CMD...: runs CMD while sampling; sets max_s and max_l
during() {
	local f=$BED_TMP/pipes-$1 pid rc=0
	shift
	sample_pipes "$f" &
	pid=$!
	"$@" || rc=$?
	touch "$f.stop"
	wait "$pid"
	read -r max_s max_l <"$f"
	return "$rc"
}

sleep 0.5
base_s=$(pipes "$spid")
base_l=$(pipes "$lpid")
say "measured: pipes after start: server $base_s, local $base_l"

# --- download and upload, byte-exact, who splices ------------------------------
res=
during dl eval 'res=$(bed_curl "$BED_TMP/out/dl" --socks5-hostname "$proxy" \
    "$(bed_url dl.bin)")' || say "curl failed"
say "measured: download: ${res:-none}; most pipes held: server $max_s, local $max_l"
bed_expect "64 MB download is byte-exact" \
    bed_same_file "$dl" "$BED_TMP/out/dl"
bed_expect "download: the concentrator splices (it held a pipe)" \
    [ "$max_s" -gt "$base_s" ]
bed_expect "download: mpsocks-local reads the tunnel (no pipe)" \
    [ "$max_l" -eq "$base_l" ]
rm -f "$BED_TMP/out/dl"

res=
during up eval 'res=$(bed_ns "$NS_CLI" curl -sS --max-time 60 -o /dev/null \
    -w "%{http_code} %{size_upload}" --socks5-hostname "$proxy" \
    -T "$up" "$(bed_url upload/up.bin)")' || say "curl failed"
say "measured: upload: ${res:-none}; most pipes held: server $max_s, local $max_l"
bed_expect "32 MB upload is byte-exact" \
    bed_same_file "$up" "$BED_TMP/www/upload/up.bin"
bed_expect "upload: mpsocks-local splices (it held a pipe)" \
    [ "$max_l" -gt "$base_l" ]
bed_expect "upload: the concentrator reads the tunnel (no pipe)" \
    [ "$max_s" -eq "$base_s" ]

# --- half-close after spliced data ---------------------------------------------
out=$(timeout 90 ip netns exec "$NS_CLI" "$PY" "$tool" "$BED_LIB_DIR" \
    halfclose "$BED_LOCAL_PORT" "$BED_DST_IP" "$port" $((4 << 20)) \
    $((8 << 20)) 2>&1) && rc=0 || rc=$?
say "measured: half-close: exit $rc: $out"
bed_expect "half-close: 4 MB then FIN up, 8 MB then FIN down, all whole" \
    [ "$rc" -eq 0 ]

# --- an idle relay holds no pipe -------------------------------------------------
bed_spawn idlecli "$NS_CLI" "$BED_TMP/idle.log" timeout 60 \
    "$PY" "$tool" "$BED_LIB_DIR" idle "$BED_LOCAL_PORT" "$BED_DST_IP" \
    "$port" 15
for ((i = 0; i < 100; i++)); do
	grep -q 'now idle' "$BED_TMP/idle.log" 2>/dev/null && break
	sleep 0.1
done
# the pool closes pipes unused for a second, checked each second: allow
# far more on a loaded machine
t0=$(date +%s)
for ((i = 0; i < 100; i++)); do
	now_s=$(pipes "$spid")
	now_l=$(pipes "$lpid")
	[ "$now_s" -le "$base_s" ] && [ "$now_l" -le "$base_l" ] && break
	sleep 0.1
done
say "measured: pipes back to the baseline after $(($(date +%s) - t0)) s idle"
idle_rc=0
wait "$(bed_pid idlecli)" || idle_rc=$?
BED_PID_idlecli=
say "measured: idle relay: $(tr '\n' ' ' <"$BED_TMP/idle.log"); pipes while idle: server $now_s, local $now_l"
bed_expect "the idle relay stayed open through the check" [ "$idle_rc" -eq 0 ]
bed_expect "an idle relay: the concentrator holds its starting pipes" \
    [ "$now_s" -eq "$base_s" ]
bed_expect "an idle relay: mpsocks-local holds its starting pipes" \
    [ "$now_l" -eq "$base_l" ]

# --- no pipe to be had: read/write instead ------------------------------------------
sleep 0.5	# the idle relay's close
nofile=$(prlimit --pid "$lpid" --nofile --noheadings --output SOFT,HARD)
read -r soft hard <<<"$nofile"
fds=$(ls "/proc/$lpid/fd" | wc -l)
# the app's socket and the tunnel's fit, a pipe's two ends do not
prlimit --pid "$lpid" --nofile=$((fds + 2)):"$hard"
res=$(bed_ns "$NS_CLI" curl -sS --max-time 60 -o /dev/null \
    -w "%{http_code} %{size_upload}" --socks5-hostname "$proxy" \
    -T "$BED_TMP/up8.bin" "$(bed_url upload/up8.bin)") || say "curl failed"
prlimit --pid "$lpid" --nofile="$soft":"$hard"
say "measured: upload with $((fds + 2)) descriptors allowed ($fds open): ${res:-none}"
say "mpsocks-local said: $(grep 'event=splice_off' "$BED_TMP/local.log" | head -1)"
bed_expect "no pipe: the 8 MB upload is byte-exact" \
    bed_same_file "$BED_TMP/up8.bin" "$BED_TMP/www/upload/up8.bin"
bed_expect "no pipe: mpsocks-local logged event=splice_off" \
    grep -q 'event=splice_off' "$BED_TMP/local.log"
bed_expect "both daemons still run" eval 'bed_alive "$spid" && bed_alive "$lpid"'

bed_finish
