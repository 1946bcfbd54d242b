#!/bin/bash
# Half-close is forwarded end to end through SOCKS5 -> tunnel -> TCP:
#   client-first: the client sends a request and shuts its write side; the
#     destination replies only after reading EOF; the reply must arrive.
#   server-first: the destination sends a line and shuts its write side;
#     the client, after seeing EOF, still sends 1 MB that must arrive whole.
#   before-reply: the client sends greeting, request and data and shuts
#     its write side before any SOCKS reply; the session must not be
#     dropped: reply 0, the data and the EOF reach the destination, and
#     its answer comes back (mpsocks-local used to close "client closed").
#   before-200: the same through the HTTP proxy: a CONNECT head, data and
#     FIN before the 200; the 200, the relay and the EOF still happen
#     (mpsocks-local closed it "client closed", the 200 never sent).
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_daemons
bed_setup 20mbit 40mbit
bed_server_start
bed_local_start

port=$((BED_HTTP_PORT + 1))
dlog=$BED_TMP/eof-server-events.log
: >"$dlog"
bed_spawn eofsrv "$NS_DST" "$BED_TMP/eof-server.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" eof-server "$BED_DST_IP" "$port" "$dlog"
bed_wait_port "$NS_DST" "$port"

client() {
	timeout 60 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
	    socks-halfclose 127.0.0.1 "$BED_LOCAL_PORT" "$BED_DST_IP" \
	    "$port" "$1"
}

out=$(client client-first 2>&1) && rc=0 || rc=$?
say "measured: client-first: exit $rc: $out"
bed_expect "client-first: reply arrives after the client's FIN" [ "$rc" -eq 0 ]

out=$(client before-reply 2>&1) && rc=0 || rc=$?
say "measured: before-reply: exit $rc: $out"
bed_expect "before-reply: FIN before the SOCKS reply, reply and relay still happen" \
    [ "$rc" -eq 0 ]

out=$(timeout 60 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
    connect-halfclose 127.0.0.1 "$BED_LOCAL_PORT" "$BED_DST_IP" "$port" \
    2>&1) && rc=0 || rc=$?
say "measured: before-200 (HTTP CONNECT): exit $rc: $out"
say "  mpsocks-local: $(grep -c 'event=client_eof_before_reply' \
    "$BED_TMP/local.log") sessions saw the FIN before their reply"
bed_expect "before-200: FIN before the CONNECT's 200, the 200 and the relay still happen" \
    [ "$rc" -eq 0 ]

out=$(client server-first 2>&1) && rc=0 || rc=$?
say "measured: server-first: exit $rc: $out"
sleep 0.5
say "destination saw:"
sed 's/^/  /' "$dlog"
want=$(echo "$out" | sed -n 's/.*sent 1048576 after EOF sha256=\([0-9a-f]*\).*/\1/p')
bed_expect "server-first: client exits 0" [ "$rc" -eq 0 ]
bed_expect "server-first: 1 MB sent after the server's FIN arrived whole" \
    grep -q "server-first got 1048576 sha256=${want:-none}" "$dlog"

bed_finish
