#!/bin/bash
# Abortive teardown: a vanished app or destination must not leave the
# tunnel, the concentrator's sockets or the destination connection
# lingering (MPTCP would sit in CLOSE-WAIT for a minute without
# SO_LINGER {1,0}: docs/kernel-notes.md "Closing").
#   1. curl downloading 200 MB at the shaped rate is killed with SIGKILL
#      after ~2 s: within 3 s the concentrator logs the connection's
#      event=close with an error/reset reason, and then no socket of it is
#      ESTABLISHED or CLOSE-WAIT in any namespace (client, concentrator,
#      destination).
#   2. The reverse: the destination's socket is destroyed (ss -K, an RST)
#      during a download: the concentrator logs an error close within 3 s,
#      curl fails, and again nothing is left.
#   3. A tunnel client that half-closes (DATA_FIN) and at once resets
#      (MP_FASTCLOSE) while the concentrator has data queued for it: the
#      concentrator logs an error close within 3 s and nothing is left.
#   4. Idle timeout: with --idle-timeout 2 on the concentrator, a relay to
#      a destination that accepts and stays silent, with a client that
#      sends nothing, is closed within ~2-5 s with reason="idle timeout",
#      and the client's socket is closed.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 40mbit
bed_make_file big.bin 200 >/dev/null
bed_nginx_start
IDLE=2
bed_server_start --idle-timeout "$IDLE"
# --no-pool: a pooled tunnel is an ESTABLISHED connection by design; the
# checks below look for tunnels an abort left behind
bed_local_start --no-pool
proxy=127.0.0.1:$BED_LOCAL_PORT
slog=$BED_TMP/server.log
now() { date +%s.%N; }

# leftovers: every socket of the test's connections still ESTABLISHED or
# CLOSE-WAIT, TCP and MPTCP, in every namespace (listeners excluded);
# prints them, one per line, prefixed with the namespace
leftovers() {
	local f1="( sport = :$BED_SRV_PORT or dport = :$BED_SRV_PORT )"
	local f2="( sport = :$BED_HTTP_PORT or dport = :$BED_HTTP_PORT )"
	local f3="( sport = :$BED_LOCAL_PORT or dport = :$BED_LOCAL_PORT )"
	local ns p
	for ns in "$NS_CLI" "$NS_SRV" "$NS_DST"; do
		for p in -t -M; do
			bed_ns "$ns" ss -Han $p state established \
			    state close-wait "$f1 or $f2 or $f3" 2>/dev/null |
			    sed "s/^/$ns ss $p: /"
		done
	done
}

# all_sockets: every non-listening socket of those ports, any state, for
# the record
all_sockets() {
	local ns p
	for ns in "$NS_CLI" "$NS_SRV" "$NS_DST"; do
		for p in -t -M; do
			bed_ns "$ns" ss -Han $p state connected \
			    "( sport = :$BED_SRV_PORT or dport = :$BED_SRV_PORT or sport = :$BED_HTTP_PORT or dport = :$BED_HTTP_PORT or sport = :$BED_LOCAL_PORT or dport = :$BED_LOCAL_PORT )" \
			    2>/dev/null | sed "s/^/  $ns ss $p: /"
		done
	done
}

# wait_close_line N SECONDS: wait up to SECONDS until the server log has
# more than N event=close lines for the destination; sets close_line to
# the new one (empty if none came)
wait_close_line() {
	local n=$1 limit=$2 i
	for ((i = 0; i < limit * 20; i++)); do
		if [ "$(close_lines | wc -l)" -gt "$n" ]; then
			break
		fi
		sleep 0.05
	done
	close_line=$(close_lines | sed -n "$((n + 1))p")
}
close_lines() {
	grep "event=close .*target=$BED_DST_NAME:" "$slog" || true
}

# download NAME: start a 200 MB curl through the proxy in the background
download() {
	bed_spawn "$1" "$NS_CLI" "$BED_TMP/$1.log" \
	    curl -sS --max-time 120 -o /dev/null --socks5-hostname "$proxy" \
	    "$(bed_url big.bin)"
}

# established_now: the transfer is really under way (relay sockets up)
established_now() {
	[ -n "$(bed_ns "$NS_SRV" ss -Htn state established \
	    "( dport = :$BED_HTTP_PORT )")" ]
}

# --- 1. the app is killed ------------------------------------------------------
download dl1
sleep 2
bed_expect "1: the download is under way after 2 s" established_now
# the leftover check must see the live connection, or it proves nothing
live=$(leftovers)
say "measured: 1: live sockets before the kill:"
printf '%s\n' "$live" | sed 's/^/  /'
for ns in "$NS_CLI" "$NS_SRV" "$NS_DST"; do
	bed_expect "1: the socket check sees the live connection in $ns" \
	    eval "printf '%s\n' \"\$live\" | grep -q '^$ns ss -t: ESTAB'"
done
bed_expect "1: the socket check sees the live MPTCP sockets (ss -M)" \
    eval "[ \$(printf '%s\n' \"\$live\" | grep -c ' ss -M: ESTAB') -ge 2 ]"
n0=$(close_lines | wc -l)
pid=$(bed_pid dl1)
t_kill=$(now)
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
BED_PID_dl1=
wait_close_line "$n0" 3
say "measured: 1: close line $(calc "$(now) - $t_kill")s after SIGKILL: ${close_line:-none}"
bed_expect "1: the concentrator logged event=close within 3 s" \
    [ -n "$close_line" ]
bed_expect "1: its reason names an error or a reset" \
    eval "printf '%s\n' \"\$close_line\" | grep -Eq 'reason=\"[^\"]*(error|reset)'"
# the 3 s count from the kill
sleep "$(calc "3 - ($(now) - $t_kill)" | awk '{ print ($1 > 0 ? $1 : 0) }')"
left=$(leftovers)
say "measured: 1: sockets 3 s after SIGKILL (any state):"
all_sockets
bed_expect "1: no connection ESTABLISHED or CLOSE-WAIT 3 s after the kill${left:+: $left}" \
    [ -z "$left" ]
say "mpsocks-local, its close line:"
grep 'event=close' "$BED_TMP/local.log" | tail -n1 | sed 's/^/  /'

# --- 2. the destination's socket is reset ---------------------------------------
n0=$(close_lines | wc -l)
download dl2
sleep 2
bed_expect "2: the download is under way after 2 s" established_now
t_kill=$(now)
killed=$(bed_ns "$NS_DST" ss -HtnK state established \
    "( sport = :$BED_HTTP_PORT )" 2>&1 || true)
say "measured: 2: ss -K in the destination namespace: ${killed//$'\n'/ }"
if [ -z "$killed" ]; then
	say "NOTE: 2: ss -K destroyed nothing (no CONFIG_INET_DIAG_DESTROY?);" \
	    "the reverse case is not tested"
else
	wait_close_line "$n0" 3
	say "measured: 2: close line $(calc "$(now) - $t_kill")s after the reset: ${close_line:-none}"
	bed_expect "2: the concentrator logged event=close within 3 s" \
	    [ -n "$close_line" ]
	bed_expect "2: its reason is a remote error or reset" \
	    eval "printf '%s\n' \"\$close_line\" | grep -Eq 'reason=\"remote[^\"]*(error|reset)'"
	pid=$(bed_pid dl2)
	for ((i = 0; i < 30; i++)); do
		bed_alive "$pid" || break
		sleep 0.1
	done
	rc=0
	if bed_alive "$pid"; then
		rc=running
	else
		wait "$pid" 2>/dev/null || rc=$?
	fi
	say "measured: 2: curl $(calc "$(now) - $t_kill")s after the reset: exit $rc: $(tr '\n' ' ' <"$BED_TMP/dl2.log")"
	bed_expect "2: curl ended with an error within 3 s (exit $rc)" \
	    eval "[ '$rc' != running ] && [ '$rc' != 0 ]"
	sleep "$(calc "3 - ($(now) - $t_kill)" | awk '{ print ($1 > 0 ? $1 : 0) }')"
	left=$(leftovers)
	say "measured: 2: sockets 3 s after the reset (any state):"
	all_sockets
	bed_expect "2: no connection ESTABLISHED or CLOSE-WAIT 3 s after the reset${left:+: $left}" \
	    [ -z "$left" ]
fi
bed_stop dl2 || true

# --- 3. the home half-closes, then vanishes ---------------------------------------
# A raw tunnel client (nettool.py tunnel-finreset) asks for big.bin, reads
# nothing for 1 s (the server's data to it backs up), then sends DATA_FIN
# and at once MP_FASTCLOSE: the concentrator must drop the relay and the
# destination connection at once, not wait for its idle timer.
n0=$(grep -c "event=close .*target=$BED_DST_IP:$BED_HTTP_PORT " "$slog" || true)
out=$(timeout 30 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
    tunnel-finreset "$BED_PUB" "$BED_SRV_PORT" "$BED_KEY_CLI" "$BED_DST_IP" \
    "$BED_HTTP_PORT" big.bin 1 2>&1) && rc=0 || rc=$?
t_kill=$(now)
say "measured: 3: tunnel client: exit $rc: ${out//$'\n'/ }"
bed_expect "3: the tunnel client got status 0 and closed" [ "$rc" -eq 0 ]
line=
for ((i = 0; i < 60; i++)); do
	line=$(grep "event=close .*target=$BED_DST_IP:$BED_HTTP_PORT " "$slog" |
	    sed -n "$((n0 + 1))p")
	[ -n "$line" ] && break
	sleep 0.05
done
say "measured: 3: close line $(calc "$(now) - $t_kill")s after MP_FASTCLOSE: ${line:-none}"
bed_expect "3: the concentrator logged event=close within 3 s" [ -n "$line" ]
bed_expect "3: its reason names an error or a reset" \
    eval "printf '%s\n' \"\$line\" | grep -Eq 'reason=\"[^\"]*(error|reset)'"
sleep "$(calc "3 - ($(now) - $t_kill)" | awk '{ print ($1 > 0 ? $1 : 0) }')"
left=$(leftovers)
say "measured: 3: sockets 3 s after MP_FASTCLOSE (any state):"
all_sockets
bed_expect "3: no connection ESTABLISHED or CLOSE-WAIT 3 s after${left:+: $left}" \
    [ -z "$left" ]

# --- 4. idle timeout -------------------------------------------------------------------
sport=$((BED_HTTP_PORT + 2))
silog=$BED_TMP/silent-events.log
: >"$silog"
bed_spawn silent "$NS_DST" "$BED_TMP/silent.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" silent-server "$BED_DST_IP" "$sport" \
    "$silog"
bed_wait_port "$NS_DST" "$sport"
out=$(timeout 30 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
    socks-idle 127.0.0.1 "$BED_LOCAL_PORT" "$BED_DST_IP" "$sport" 10 2>&1) &&
    rc=0 || rc=$?
say "measured: 4: silent client through the proxy: exit $rc: ${out//$'\n'/ }"
after=$(printf '%s\n' "$out" | sed -n 's/^closed how=[a-z]* after=\([0-9.]*\)$/\1/p')
bed_expect "4: the client's socket was closed by the proxy" [ "$rc" -eq 0 ]
bed_expect "4: closed ~$IDLE s after connecting (${after:-never}s, want 1.5..5)" \
    calc_true "${after:-99} >= 1.5 && ${after:-99} <= 5"
line=$(grep "event=close .*target=$BED_DST_IP:$sport" "$slog" || true)
say "measured: 4: server: ${line:-no close line}"
bed_expect "4: the concentrator logged reason=\"idle timeout\"" \
    eval "printf '%s\n' \"\$line\" | grep -q 'reason=\"idle timeout\"'"
ms=$(printf '%s\n' "$line" | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
bed_expect "4: ... after ~$IDLE s (ms=${ms:-none}, want 1500..5000)" \
    eval "[ -n '$ms' ] && [ '${ms:-0}' -ge 1500 ] && [ '${ms:-0}' -le 5000 ]"
sleep 0.5
say "measured: 4: the silent destination saw:"
sed 's/^/  /' "$silog"
bed_expect "4: the destination connection was closed too" \
    grep -q "^closed " "$silog"
say "mpsocks-local, its close line:"
grep "event=close .*target=$BED_DST_IP:$sport" "$BED_TMP/local.log" |
    sed 's/^/  /' || say "  (none)"

bed_expect "server still running" bed_alive "$(bed_pid server)"
bed_expect "mpsocks-local still running" bed_alive "$(bed_pid local)"
bed_finish
