#!/bin/bash
# No file descriptor, memory or sanitizer error survives a mix of good and
# bad connections. Runs the daemons built with ASan + UBSan (build/asan,
# `make build/asan/mpsocks-server build/asan/mpsocks-local`) unless
# MPSOCKS_BUILD says otherwise; without them, the plain build (said loudly).
#   - both daemons' fd counts after start are the baseline (no warm pool,
#     strict replies: t_pool covers the pool's descriptors)
#   - the mix: 20 good small downloads, 10 refused (closed port), 10
#     refused by the concentrator's ACL (SSRF), tunnel-probe garbage,
#     wrongkey and replay x3 each, 5 curls killed mid-transfer, 5 raw
#     clients that connect and close without a byte (to each daemon), 5
#     that send half a SOCKS5 greeting and 5 half a request and hang up
#   - once the timeouts have passed, both fd counts are back to the
#     baseline and both daemons still run (FD_LEAK_KILL_ROUNDS=N repeats
#     the killed downloads N times, to hunt teardown races harder)
#   - SIGTERM: both exit 0, and their stderr holds no AddressSanitizer,
#     UBSan ("runtime error:") or LeakSanitizer report
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build_note=
if [ -z "${MPSOCKS_BUILD-}" ]; then
	if [ -x "$repo/build/asan/mpsocks-server" ] &&
	    [ -x "$repo/build/asan/mpsocks-local" ] &&
	    [ -x "$repo/build/asan/tunnel-probe" ]; then
		export MPSOCKS_BUILD=$repo/build/asan
	else
		build_note="WARNING: build/asan daemons missing (make build/asan/mpsocks-server build/asan/mpsocks-local build/asan/tunnel-probe); testing the PLAIN build: no sanitizer checks"
	fi
fi
. "$here/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons tunnel-probe
[ -z "$build_note" ] || say "$build_note"
say "daemons under test: $BED_BUILD"
sanitized=no
if nm -an "$BED_BUILD/mpsocks-server" 2>/dev/null | grep -q __asan_init ||
    grep -q __asan_init "$BED_BUILD/mpsocks-server" 2>/dev/null; then
	sanitized=yes
fi
say "sanitizers in the server binary: $sanitized"
[ "$sanitized" = yes ] ||
    say "WARNING: $BED_BUILD is not an ASan build: the sanitizer checks below prove nothing"

# leaks are reported at exit, on stderr (the daemons' log files)
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=stderr
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=report_objects=1

bed_setup 20mbit 40mbit
bed_make_file small.bin 1 >/dev/null
bed_make_file big.bin 100 >/dev/null
bed_nginx_start
HS=2
bed_server_start		# --handshake-timeout 2 (lib.sh)
# --no-pool: the pool holds tunnels (descriptors) by design, and its size
# follows the load; t_pool checks that it returns to its own baseline.
# --strict-replies: the refusals below are counted by their reply codes.
bed_local_start --no-pool --strict-replies --handshake-timeout "$HS"
proxy=127.0.0.1:$BED_LOCAL_PORT
spid=$(bed_pid server)
lpid=$(bed_pid local)

fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
fd_list() { ls -l "/proc/$1/fd" 2>/dev/null | awk 'NR > 1 { print $9, $10, $11 }'; }

sleep 0.5
base_s=$(fds "$spid")
base_l=$(fds "$lpid")
fd_list "$spid" >"$BED_TMP/server-fds.before"
fd_list "$lpid" >"$BED_TMP/local-fds.before"
say "measured: baseline fds: server $base_s, local $base_l"

count_ok=0 count_bad=0
tally() { if "$@" >/dev/null 2>&1; then count_ok=$((count_ok + 1)); else count_bad=$((count_bad + 1)); fi; }
curl_cli() { bed_ns "$NS_CLI" curl -sS --max-time 30 -o /dev/null "$@"; }
curl_rc() { local rc=0; curl_cli "$@" 2>/dev/null || rc=$?; echo "$rc"; }
# socks_rep ARGS: the SOCKS5 reply code curl reports, "(N)", or "none"
socks_rep() {
	local err
	err=$(curl_cli "$@" 2>&1) || true
	err=$(printf '%s\n' "$err" | sed -n 's/.*SOCKS5 connection to .*(\([0-9]*\)).*/\1/p')
	echo "${err:-none}"
}

# --- 20 good downloads -----------------------------------------------------
good=0
for ((i = 0; i < 20; i++)); do
	if [ $((i % 2)) -eq 0 ]; then u=$(bed_url small.bin); else u=$(bed_url_ip small.bin); fi
	[ "$(curl_rc --socks5-hostname "$proxy" "$u")" = 0 ] && good=$((good + 1))
done
say "measured: good downloads: $good of 20"
bed_expect "20 good downloads succeed" [ "$good" -eq 20 ]

# --- 10 refused, 10 refused by the ACL ----------------------------------------
closed_port=$((BED_HTTP_PORT + 3))
ref=0 acl=0
for ((i = 0; i < 10; i++)); do
	[ "$(socks_rep --socks5 "$proxy" "http://$BED_DST_IP:$closed_port/")" = 5 ] &&
	    ref=$((ref + 1))
	[ "$(socks_rep --socks5 "$proxy" "http://127.0.0.1:$closed_port/")" = 2 ] &&
	    acl=$((acl + 1))
done
say "measured: closed port: $ref of 10 got reply 5; SSRF (127.0.0.1): $acl of 10 got reply 2"
bed_expect "10 closed-port requests refused (reply 5)" [ "$ref" -eq 10 ]
bed_expect "10 SSRF requests refused (reply 2)" [ "$acl" -eq 10 ]

# --- tunnel-probe x3 each, in parallel (each is held ~2 s) --------------------------
probe_pids=()
for ((i = 0; i < 3; i++)); do
	for m in garbage wrongkey replay; do
		# the tool is not under test: its own leaks (if built with
		# ASan) must not fail it
		ASAN_OPTIONS=detect_leaks=0 timeout 30 \
		    ip netns exec "$NS_CLI" "$BED_BUILD/tunnel-probe" \
		    "$m" "$BED_PUB:$BED_SRV_PORT" "$BED_KEY_CLI" \
		    "$BED_DST_IP:$BED_HTTP_PORT" >"$BED_TMP/probe-$m-$i.out" 2>&1 &
		probe_pids+=($!)
	done
done

# --- 5 curls killed mid-transfer --------------------------------------------------
kill_pids=()
for ((i = 0; i < 5; i++)); do
	bed_spawn "dl$i" "$NS_CLI" "$BED_TMP/dl$i.log" curl -sS --max-time 60 \
	    -o /dev/null --socks5-hostname "$proxy" "$(bed_url big.bin)"
	kill_pids+=("$(bed_pid "dl$i")")
done

# --- raw clients that hang up early --------------------------------------------------
for ((i = 0; i < 5; i++)); do
	# nothing at all, to each daemon
	tally bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" send-close 127.0.0.1 "$BED_LOCAL_PORT" ""
	tally bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" send-close "$BED_PUB" "$BED_SRV_PORT" ""
	# half a greeting: 3 methods announced, 1 sent
	tally bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" send-close 127.0.0.1 "$BED_LOCAL_PORT" 050300
	# a whole greeting, then half a CONNECT request
	tally bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" send-close 127.0.0.1 "$BED_LOCAL_PORT" 050100050100010a
done
say "measured: raw early hang-ups: $count_ok sent, $count_bad failed to connect"
bed_expect "20 raw early hang-ups connected" [ "$count_ok" -eq 20 ]

sleep 1.5
running=0
for p in "${kill_pids[@]}"; do
	bed_alive "$p" && running=$((running + 1))
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
done
for ((i = 0; i < 5; i++)); do eval "BED_PID_dl$i="; done
say "measured: $running of 5 downloads were still running when killed"
bed_expect "5 downloads killed mid-transfer" [ "$running" -eq 5 ]

# FD_LEAK_KILL_ROUNDS=N (default 1): N-1 more rounds of 5 killed
# downloads, to hunt teardown races harder
for ((r = 1; r < ${FD_LEAK_KILL_ROUNDS:-1}; r++)); do
	kill_pids=()
	for ((i = 0; i < 5; i++)); do
		bed_spawn "dl$i" "$NS_CLI" "$BED_TMP/dl$r-$i.log" curl -sS \
		    --max-time 60 -o /dev/null --socks5-hostname "$proxy" \
		    "$(bed_url big.bin)"
		kill_pids+=("$(bed_pid "dl$i")")
	done
	sleep 1.5
	running=0
	for p in "${kill_pids[@]}"; do
		bed_alive "$p" && running=$((running + 1))
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for ((i = 0; i < 5; i++)); do eval "BED_PID_dl$i="; done
	say "measured: kill round $((r + 1)): $running of 5 still running when killed"
done

probe_ok=0
for p in "${probe_pids[@]}"; do
	wait "$p" && probe_ok=$((probe_ok + 1)) || true
done
say "measured: tunnel-probe: $probe_ok of 9 behaved as expected (no reply, closed)"
for f in "$BED_TMP"/probe-*.out; do
	say "  $(basename "$f" .out): $(tr '\n' ' ' <"$f")"
done
bed_expect "9 tunnel-probe runs: no byte back, closed" [ "$probe_ok" -eq 9 ]

# --- back to the baseline ---------------------------------------------------------------
# Slowest timeouts: the server's handshake timeout (2 s) for silent and
# bad clients; the 5 s linger after an error reply (both daemons) if a
# client never closed. 20 s is far beyond.
say "measured: fds right after the mix: server $(fds "$spid"), local $(fds "$lpid")"
t0=$(date +%s)
sleep 6		# past every handshake timeout and the 5 s reply linger
for ((i = 0; i < 140; i++)); do
	[ "$(fds "$spid")" -le "$base_s" ] && [ "$(fds "$lpid")" -le "$base_l" ] && break
	sleep 0.1
done
now_s=$(fds "$spid")
now_l=$(fds "$lpid")
say "measured: fds after $(($(date +%s) - t0)) s of waiting: server $now_s (baseline $base_s), local $now_l (baseline $base_l)"
bed_expect "server fd count back to the baseline ($now_s vs $base_s)" \
    [ "$now_s" -eq "$base_s" ]
bed_expect "local fd count back to the baseline ($now_l vs $base_l)" \
    [ "$now_l" -eq "$base_l" ]
if [ "$now_s" -ne "$base_s" ] || [ "$now_l" -ne "$base_l" ]; then
	say "server fds now vs after start:"
	fd_list "$spid" | diff "$BED_TMP/server-fds.before" - | sed 's/^/  /' || true
	say "local fds now vs after start:"
	fd_list "$lpid" | diff "$BED_TMP/local-fds.before" - | sed 's/^/  /' || true
	for ns in "$NS_CLI" "$NS_SRV" "$NS_DST"; do
		say "sockets in $ns (TIME-WAIT left out):"
		bed_ns "$ns" ss -tanM | grep -v TIME-WAIT | sed 's/^/  /'
	done
	# which fds the event loops still watch: a relay whose sockets are
	# in none of them can only end by its idle timer
	for p in "$spid" "$lpid"; do
		for fd in /proc/"$p"/fd/*; do
			[ "$(readlink "$fd")" = 'anon_inode:[eventpoll]' ] || continue
			say "epoll set of pid $p (fd ${fd##*/}):"
			grep '^tfd:' "/proc/$p/fdinfo/${fd##*/}" |
			    awk '{ printf "  fd %s events 0x%s\n", $2, $4 }'
		done
	done
	say "server connections with no event=close line (still open):"
	for id in $(grep -o '\bc=[0-9a-f]\{8\}' "$BED_TMP/server.log" | sort -u); do
		grep -q "$id event=close" "$BED_TMP/server.log" && continue
		grep "$id event=auth_fail" "$BED_TMP/server.log" >/dev/null && continue
		grep "$id " "$BED_TMP/server.log" | sed 's/^/  /'
	done
	say "mpsocks-local sessions with no event=close line (still open):"
	for id in $(grep -o '\bs=[0-9a-f]\{8\}' "$BED_TMP/local.log" | sort -u); do
		grep -q "$id event=close" "$BED_TMP/local.log" && continue
		grep "$id " "$BED_TMP/local.log" | sed 's/^/  /'
	done
fi
bed_expect "server still running" bed_alive "$spid"
bed_expect "mpsocks-local still running" bed_alive "$lpid"

# the daemons still serve
res=$(bed_curl "$BED_TMP/out/after" --socks5-hostname "$proxy" \
    "$(bed_url small.bin)") || say "curl failed"
say "measured: download after the mix: ${res:-none}"
bed_expect "a download after the mix is byte-exact" \
    bed_same_file "$BED_TMP/www/small.bin" "$BED_TMP/out/after"

# --- SIGTERM, exit status, sanitizer reports ---------------------------------------------
bed_term_status local
rc_l=$term_rc
bed_term_status server
rc_s=$term_rc
say "measured: exit status after SIGTERM: local $rc_l, server $rc_s"
bed_expect "mpsocks-local exits 0 on SIGTERM (got $rc_l)" [ "$rc_l" = 0 ]
bed_expect "mpsocks-server exits 0 on SIGTERM (got $rc_s)" [ "$rc_s" = 0 ]

san_re='ERROR: AddressSanitizer|runtime error:|LeakSanitizer'
for d in server local; do
	log=$BED_TMP/$d.log
	n=$(grep -Ec "$san_re" "$log" || true)
	say "measured: $d log: $(wc -l <"$log") lines, $n sanitizer report lines"
	if [ "$n" -ne 0 ]; then
		say "----- sanitizer report in $d.log -----"
		grep -E -A40 "$san_re" "$log" | head -n 80 | sed 's/^/  /'
	fi
	bed_expect "$d: no AddressSanitizer / UBSan / LeakSanitizer report" \
	    [ "$n" -eq 0 ]
	bed_expect "$d: logged event=stopped" grep -q 'event=stopped' "$log"
done
bed_finish
