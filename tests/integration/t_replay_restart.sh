#!/bin/bash
# Replays of a real client's first flight reach nothing, also after a
# concentrator restart (a fresh nonce cache): the first data segment of a
# v1 tunnel (encryption = none: the header carries the target) and of a v2
# tunnel (the preamble + ClientHello) are taken from a capture of the
# client's uplink, then sent again from new connections:
#   1. to the same server process: the nonce cache refuses them
#   2. after mpsocks-server restarted with the same key file, inside the
#      replay window: the timestamp floor must refuse them
# Each replay must get 0 bytes and add nothing to nginx's access log (a v1
# replay carries a GET after the header, so a success would show there).
# Controls: a fresh tunnel-probe request and a fresh proxied fetch work
# after the restart, so "nothing" is not a dead server.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons tunnel-probe
command -v tcpdump >/dev/null 2>&1 ||
    bed_skip "tcpdump not installed (make deps installs it)"
bed_setup 20mbit 40mbit
bed_nginx_start
bed_server_start
wire=$BED_LIB_DIR/tunnel_wire.py
window=30	# the server's default replay_window, seconds
get_hex=$(printf 'GET /index.html HTTP/1.0\r\n\r\n' | od -An -tx1 | tr -d ' \n')

access_lines() { wc -l <"$BED_TMP/access.log"; }

# first_flight MODE: fetch index.html once through mpsocks-local with
# encryption = MODE while up1 (the initial subflow's uplink) is captured;
# writes the hex of the client's first data segment to the server port to
# $BED_TMP/MODE.hex (not a $(...): the daemons must be started by this shell)
first_flight() {
	local i
	BED_LOCAL_CONF=$BED_TMP/local-$1.conf
	printf '[local]\nencryption = %s\n\n[rule bed-bonded]\nany = yes\naction = bond\n' \
	    "$1" >"$BED_LOCAL_CONF"
	bed_spawn "cap$1" "$NS_CLI" "$BED_TMP/tcpdump-$1.log" \
	    tcpdump -n -U --immediate-mode -Z root -s 0 -i up1 -w "$BED_TMP/$1.pcap"
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$BED_TMP/tcpdump-$1.log" && break
		sleep 0.1
	done
	bed_local_start
	bed_curl "$BED_TMP/out/$1" --socks5 "127.0.0.1:$BED_LOCAL_PORT" \
	    "$(bed_url_ip index.html)" || say "curl failed"
	sleep 0.3
	bed_stop "cap$1"
	bed_stop local
	cp "$BED_TMP/local.log" "$BED_TMP/local-$1.log"
	"$PY" "$wire" first-payload "$BED_TMP/$1.pcap" "$BED_SRV_PORT" \
	    >"$BED_TMP/$1.hex"
}

first_flight none || bed_fail "no v1 first flight captured"
v1=$(cat "$BED_TMP/none.hex")
bed_same_file "$BED_TMP/www/index.html" "$BED_TMP/out/none" ||
    bed_fail "the v1 fetch itself failed"
first_flight tls || bed_fail "no v2 first flight captured"
v2=$(cat "$BED_TMP/tls.hex")
bed_same_file "$BED_TMP/www/index.html" "$BED_TMP/out/tls" ||
    bed_fail "the v2 fetch itself failed"

# the v1 header alone (hdr_len at bytes 2..3), then a GET of our own
v1_len=$((16#${v1:4:4}))
v1_hdr=${v1:0:$((2 * v1_len))}
say "measured: v1 first segment ${#v1} hex chars, header $v1_len bytes: ${v1_hdr:0:28}..."
say "measured: v2 first segment $((${#v2} / 2)) bytes: ${v2:0:28}... byte 70: ${v2:140:2}"
bed_expect "v1 capture starts with version 0x01" [ "${v1:0:2}" = 01 ]
bed_expect "v2 capture starts with version 0x02, hdr_len 70" \
    [ "${v2:0:8}" = 02010046 ]
bed_expect "v2 first segment is preamble + TLS record (0x16 at byte 70)" \
    [ "${v2:140:2}" = 16 ]
v1_replay=$v1_hdr$get_hex
# ms since epoch in the fixed part, bytes 6..13
ts_of() { echo $((16#${1:12:16})); }
v1_ts=$(ts_of "$v1")
v2_ts=$(ts_of "$v2")

# replay WHAT HEX: a new connection sends HEX; prints the probe line; true
# iff 0 bytes came back and nginx's access log did not grow
replay() {
	local before after out got age
	age=$(( ($(date +%s%3N) - $(ts_of "$2")) / 1000 ))
	before=$(access_lines)
	out=$(timeout 40 ip netns exec "$NS_CLI" "$PY" "$wire" probe \
	    "raw:$2" "$BED_PUB" "$BED_SRV_PORT" - 15 2>&1) || out="failed: $out"
	sleep 0.5	# nginx logs at request end
	after=$(access_lines)
	got=$(sed -n 's/.*bytes_received=\([0-9]*\).*/\1/p' <<<"$out")
	say "measured: replay $1 (captured ${age}s ago): $out; access log $before -> $after"
	[ "${got:-x}" = 0 ] && [ "$after" -eq "$before" ]
}

# --- 1. the same server: the nonce cache ---
bed_expect "v1 replay to the same server: 0 bytes, no request" \
    replay "v1 (same server)" "$v1_replay"
bed_expect "v2 replay to the same server: 0 bytes, nothing" \
    replay "v2 (same server)" "$v2"

# --- 2. after a restart with the same keys, inside the window ---
bed_stop server
cp "$BED_TMP/server.log" "$BED_TMP/server-before-restart.log"
bed_server_start
age=$(( ($(date +%s%3N) - v1_ts) / 1000 ))
say "measured: server restarted ${age}s after the v1 capture (window ${window}s)"
# the timestamps must still be fresh, or the replays below prove nothing
bed_expect "the v1 capture is still inside the replay window" \
    [ $(( ($(date +%s%3N) - v1_ts) / 1000 + 5 )) -lt "$window" ]
bed_expect "the v2 capture is still inside the replay window" \
    [ $(( ($(date +%s%3N) - v2_ts) / 1000 + 5 )) -lt "$window" ]
bed_expect "v1 replay after a restart: 0 bytes, no request" \
    replay "v1 (after restart)" "$v1_replay"
bed_expect "v2 replay after a restart: 0 bytes, nothing" \
    replay "v2 (after restart)" "$v2"

# --- controls: the restarted server serves fresh requests ---
before=$(access_lines)
out=$(timeout 30 ip netns exec "$NS_CLI" "$BED_BUILD/tunnel-probe" valid \
    "$BED_PUB:$BED_SRV_PORT" "$BED_KEY_CLI" "$BED_DST_IP:$BED_HTTP_PORT" 2>&1) &&
    rc=0 || rc=$?
sleep 0.5
say "measured: fresh v1 request after the restart: exit $rc: $out; access log $before -> $(access_lines)"
bed_expect "control: a fresh v1 request after the restart succeeds" \
    [ "$rc" -eq 0 ]
bed_expect "control: and reaches nginx" [ "$(access_lines)" -gt "$before" ]
BED_LOCAL_CONF=$BED_TMP/local-tls.conf
bed_local_start
bed_expect "control: a fresh v2 fetch after the restart is byte-exact" \
    eval "[ \"\$(bed_fetch_exact 1 index.html 30)\" = 1 ]"

say "server log after the restart, pre-auth events:"
grep -E 'auth_fail|replay|tls_fail' "$BED_TMP/server.log" | sed 's/^/  /'
grep -qE 'auth_fail|replay|tls_fail' "$BED_TMP/server.log" || say "  (none logged)"
bed_finish
