#!/bin/bash
# Protocol v2 (TLS 1.3 tunnel) against protocol v1 (encryption = none) on
# one bed, mpsocks-local restarted between the modes:
#   a. bonded download and upload byte-exact in both modes; the server logs
#      event=tls only for the tls run; local's start line names the mode
#   b. half-close both ways through TLS (nettool.py, as t_halfclose)
#   c. probes get 0 bytes, reach no destination, and end alike (a reset
#      between half and all of the handshake timeout): a v2-looking preamble
#      with a wrong MAC, a bare TLS ClientHello, a wrong key's preamble +
#      ClientHello, silence, an HTTP request
#   d. a capture of both uplinks during a by-name download of a file full
#      of a marker: in tls mode neither the name nor the marker is on the
#      wire; in none mode both are (so the capture would have seen them)
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
command -v tcpdump >/dev/null 2>&1 ||
    bed_skip "tcpdump not installed (make deps installs it)"
bed_setup 20mbit 40mbit
dl=$(bed_make_file dl.bin 20)
upf=$BED_TMP/up.bin
head -c $((10 * 1048576)) /dev/urandom >"$upf"
marker=MPSOCKS-MARKER-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mfile=$BED_TMP/www/marker.txt
for ((i = 0; i < 40000; i++)); do echo "$marker"; done >"$mfile"
bed_nginx_start
bed_server_start
proxy=127.0.0.1:$BED_LOCAL_PORT
wire=$BED_LIB_DIR/tunnel_wire.py

# local_mode MODE: (re)start mpsocks-local with encryption = MODE; its log
# of the previous mode is kept as local-PREV.log
local_mode() {
	if [ -n "$(bed_pid local)" ]; then
		bed_stop local
		cp "$BED_TMP/local.log" "$BED_TMP/local-$cur_mode.log"
	fi
	cur_mode=$1
	BED_LOCAL_CONF=$BED_TMP/local-$1.conf
	printf '[local]\nencryption = %s\n\n[rule bed-bonded]\nany = yes\naction = bond\n' \
	    "$1" >"$BED_LOCAL_CONF"
	bed_local_start
	srv_mark=$(wc -l <"$BED_TMP/server.log")
}
# srv_since: the server's log lines since the last local_mode
srv_since() { tail -n +"$((srv_mark + 1))" "$BED_TMP/server.log"; }
count() { grep -c -- "$1" || true; }

# capture_start NAME / capture_stop: tcpdump on every uplink of the client
capture_start() {
	local k
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		bed_spawn "cap$k" "$NS_CLI" "$BED_TMP/tcpdump-$1-up$k.log" \
		    tcpdump -n -U --immediate-mode -Z root -s 0 -i "up$k" -w "$BED_TMP/$1-up$k.pcap"
	done
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		for ((i = 0; i < 50; i++)); do
			grep -q 'listening on' "$BED_TMP/tcpdump-$1-up$k.log" && break
			sleep 0.1
		done
		grep -q 'listening on' "$BED_TMP/tcpdump-$1-up$k.log" ||
		    bed_fail "tcpdump on up$k did not start"
	done
}
capture_stop() {
	local k
	sleep 0.3	# the last segments and the closes
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		bed_stop "cap$k"
	done
}

# transfers MODE: part a and the capture of part d in one mode
transfers() {
	local m=$1 res code k n bytes
	local_mode "$m"
	bed_expect "$m: local's start line says encryption=$m" \
	    grep -q "concentrator .* encryption=$m\b" "$BED_TMP/local.log"

	rm -f "$BED_TMP/out/dl"
	res=$(bed_curl "$BED_TMP/out/dl" --socks5-hostname "$proxy" \
	    "$(bed_url dl.bin)") || say "curl failed: $?"
	say "measured: $m download: ${res:-none}"
	bed_expect "$m: 20 MB download byte-exact" \
	    bed_same_file "$dl" "$BED_TMP/out/dl"
	rm -f "$BED_TMP/www/upload/up.bin"
	res=$(bed_ns "$NS_CLI" curl -sS --max-time 120 -o /dev/null \
	    -w '%{http_code} %{size_upload} %{speed_upload} %{time_total}\n' \
	    --socks5-hostname "$proxy" -T "$upf" "$(bed_url upload/up.bin)") ||
	    say "curl failed: $?"
	say "measured: $m upload: ${res:-none}"
	bed_expect "$m: 10 MB upload byte-exact" \
	    bed_same_file "$upf" "$BED_TMP/www/upload/up.bin"

	# d: the capture, by name (the concentrator resolves $BED_DST_NAME)
	capture_start "$m"
	rm -f "$BED_TMP/out/marker"
	res=$(bed_curl "$BED_TMP/out/marker" --socks5-hostname "$proxy" \
	    "$(bed_url marker.txt)") || say "curl failed: $?"
	capture_stop
	say "measured: $m marker download: ${res:-none}"
	bed_expect "$m: marker file byte-exact" \
	    bed_same_file "$mfile" "$BED_TMP/out/marker"
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		bytes=$("$PY" "$wire" pcap-bytes "$BED_TMP/$m-up$k.pcap" \
		    "$BED_SRV_PORT") || bytes=0
		say "measured: $m capture up$k: $bytes tunnel payload bytes"
		# each uplink carried a share: the capture covers both
		bed_expect "$m: capture of up$k holds tunnel traffic (> 64 KiB)" \
		    [ "$bytes" -gt 65536 ]
	done

	tls=$(srv_since | count 'event=tls cipher=')
	closes=$(srv_since | count 'event=close')
	bonded=$(srv_since | grep 'event=close' | count 'mptcp=yes subflows=[2-9]')
	say "measured: $m: server logged $tls event=tls and $closes event=close lines, $bonded of them mptcp=yes over >= 2 subflows"
	bed_expect "$m: all 3 tunnels bonded (MPTCP, >= 2 subflows)" \
	    [ "$closes" -eq 3 ] && [ "$bonded" -eq 3 ]
	say "$m: server tls lines:"
	srv_since | grep 'event=tls' | sed 's/^/  /' || true
}

# --- a + d in tls mode -------------------------------------------------------
transfers tls
bed_expect "tls: event=tls for each of the 3 tunnels" [ "$tls" -ge 3 ]
bed_expect "tls: every event=tls names a TLS 1.3 suite" \
    eval "! srv_since | grep 'event=tls cipher=' | grep -qv 'cipher=TLS_\(AES_128_GCM\|CHACHA20_POLY1305\)_SHA256'"
for k in 1 2; do
	p=$BED_TMP/tls-up$k.pcap
	n=$("$PY" "$wire" grep "$p" "$BED_DST_NAME") || true
	bed_expect "tls: up$k capture lacks the destination name ($n hits)" \
	    [ "$n" -eq 0 ]
	n=$("$PY" "$wire" grep "$p" "$marker") || true
	bed_expect "tls: up$k capture lacks the marker ($n hits)" [ "$n" -eq 0 ]
	n=$("$PY" "$wire" grep "$p" MPSOCKS-MARKER) || true
	bed_expect "tls: up$k capture lacks even the marker prefix ($n hits)" \
	    [ "$n" -eq 0 ]
done

# --- b: half-close through TLS (still tls mode) ------------------------------
port=$((BED_HTTP_PORT + 1))
dlog=$BED_TMP/eof-server-events.log
: >"$dlog"
bed_spawn eofsrv "$NS_DST" "$BED_TMP/eof-server.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" eof-server "$BED_DST_IP" "$port" "$dlog"
bed_wait_port "$NS_DST" "$port"
halfclose() {
	timeout 60 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
	    socks-halfclose 127.0.0.1 "$BED_LOCAL_PORT" "$BED_DST_IP" \
	    "$port" "$1"
}
mark=$(wc -l <"$BED_TMP/server.log")
out=$(halfclose client-first 2>&1) && rc=0 || rc=$?
say "measured: tls client-first half-close: exit $rc: $out"
bed_expect "tls: client-first: the reply arrives after the client's FIN" \
    [ "$rc" -eq 0 ]
out=$(halfclose server-first 2>&1) && rc=0 || rc=$?
say "measured: tls server-first half-close: exit $rc: $out"
sleep 0.5
say "destination saw:"
sed 's/^/  /' "$dlog"
want=$(echo "$out" | sed -n 's/.*sent 1048576 after EOF sha256=\([0-9a-f]*\).*/\1/p')
bed_expect "tls: server-first: client exits 0" [ "$rc" -eq 0 ]
bed_expect "tls: server-first: 1 MB sent after the server's FIN arrived whole" \
    grep -q "server-first got 1048576 sha256=${want:-none}" "$dlog"
n=$(tail -n +"$((mark + 1))" "$BED_TMP/server.log" | count 'event=tls cipher=')
bed_expect "tls: the half-close tunnels were TLS ($n event=tls)" [ "$n" -ge 2 ]

# --- c: probes (no mpsocks-local involved) -----------------------------------
access_lines() { wc -l <"$BED_TMP/access.log"; }
probe() {	# KIND [KEYFILE]
	timeout 40 ip netns exec "$NS_CLI" "$PY" "$wire" probe "$1" \
	    "$BED_PUB" "$BED_SRV_PORT" "${2:--}" 30
}
sleep 0.5
# every pre-auth failure ends alike: a reset, at a moment drawn from
# [handshake_timeout/2, handshake_timeout] (the bed runs the server with
# 2 s), whatever was sent; the bounds allow 0.3 s of scheduling
for kind in badmac hello wrongkey silent garbage; do
	before=$(access_lines)
	out=$(probe "$kind" "$BED_TMP/wrong.key" 2>&1) || out="failed: $out"
	sleep 0.5	# nginx logs at request end
	after=$(access_lines)
	say "measured: probe $out"
	got=$(sed -n 's/.*bytes_received=\([0-9]*\).*/\1/p' <<<"$out")
	bed_expect "probe $kind: 0 bytes from the server" [ "${got:-x}" = 0 ]
	bed_expect "probe $kind: the destination saw nothing ($before -> $after)" \
	    [ "$after" -eq "$before" ]
	bed_expect "probe $kind: the server closed it (within 30 s)" \
	    eval "! grep -q 'close=open' <<<'$out'"
	after_s=$(sed -n 's/.* after=\([0-9.]*\).*/\1/p' <<<"$out")
	bed_expect "probe $kind: ended by a reset" \
	    eval "grep -q 'close=reset' <<<'$out'"
	bed_expect "probe $kind: after 1 to 2 s (${after_s:-?} s)" \
	    calc_true "${after_s:-0} >= 0.9 && ${after_s:-99} <= 2.3"
done
say "server log, pre-auth failures:"
grep -E 'auth_fail|tls_fail' "$BED_TMP/server.log" | sed 's/^/  /'
grep -qE 'auth_fail|tls_fail' "$BED_TMP/server.log" || say "  (none logged)"

# --- a + d in none mode ------------------------------------------------------
transfers none
bed_expect "none: no event=tls at all" [ "$tls" -eq 0 ]
bed_expect "none: local warns that the tunnel is in clear" \
    grep -q 'encryption = none: the tunnel carries destinations' \
    "$BED_TMP/local.log"
name_hits=0 marker_hits=0
for k in 1 2; do
	n=$("$PY" "$wire" grep "$BED_TMP/none-up$k.pcap" "$BED_DST_NAME") || true
	name_hits=$((name_hits + n))
	n=$("$PY" "$wire" grep "$BED_TMP/none-up$k.pcap" "$marker") || true
	say "measured: none: up$k capture holds the marker $n times"
	marker_hits=$((marker_hits + n))
done
say "measured: none: name $name_hits times, marker $marker_hits times in the captures"
bed_expect "none: the capture holds the destination name" [ "$name_hits" -gt 0 ]
bed_expect "none: the capture holds the marker" [ "$marker_hits" -gt 0 ]

bed_expect "server still running" bed_alive "$(bed_pid server)"
bed_stop local
cp "$BED_TMP/local.log" "$BED_TMP/local-none.log"
bed_finish
