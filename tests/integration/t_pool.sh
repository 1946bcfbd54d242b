#!/bin/bash
# The warm pool and optimistic replies (issue 15), each path shown taken:
#   1. pool hit: once mpsocks_pool_tunnels{state="ready"} >= 2 and the
#      concentrator counts both pools' tunnels in mpsocks_idle_tunnels, a
#      SOCKS5 fetch is byte-exact, takes a pooled tunnel (one pool_take,
#      a subflow on each uplink; hits +1, misses unchanged) and the
#      concentrator logs idle_taken for it
#   2. pool miss: a second mpsocks-local with --no-pool: byte-exact, no
#      take counted, no pool line logged, and its cold tunnel not taken
#      for an idle one at the concentrator (it used to be)
#   3. strict: a third one with --strict-replies: byte-exact, a closed
#      port gets SOCKS5 reply 5 (curl 97); the default instance says
#      success and then resets (curl fails with no SOCKS error) and logs
#      "tunnel failed after an optimistic reply"
#   4. HTTP CONNECT (curl -p) byte-exact from the pool; a raw client
#      sending the CONNECT head and its GET in one write gets the 200 and
#      the answer, its GET left with the tunnel's request (event=early
#      bytes=N>0) before the tunnel's answer came (the 200 was optimistic)
#   5. concentrator restart with the pool full: both uplinks cut (linkem)
#      so that no FIN reaches the pool, the server stopped and started
#      again, the uplinks back, a fetch at once: byte-exact within 5 s
#      (the dead pooled tunnel it takes is retried cold, event=pool_dead);
#      the pool full again on the new concentrator within 10 s, and
#      mpsocks-local's descriptors back to the baseline (less the pool)
#   6. per-key cap: a concentrator with pool_max_per_key = 2 and a local
#      with pool_min = 4: never more than 2 idle tunnels (sampled), the
#      cap logged, the local logs pool_fail and backs off (at most 12
#      tunnels accepted in 12 s, its waits growing to >= 4 s), a fetch
#      through it works; pooling off (pool_max_per_key = 0): pooled
#      tunnels closed, the local backs off, fetches through a pooling and
#      a --no-pool local work (cold tunnels are not pooled ones)
#   7. renewal, pool_refresh = 5: over 12 s the tunnels are replaced
#      (pool_ready and pool_renewed lines keep coming), the ready count
#      sampled every 0.5 s never below pool_min, and each replacement is
#      ready before the tunnel it replaces goes (pool_ready says
#      ready > pool_min: a sample could miss a dip, the log cannot)
#   8. the concentrator's pool_idle_timeout = 5, the local's pool_refresh
#      60: the concentrator closes the idle tunnels (reason "idle"), the
#      local replaces them (ready >= 2 again), a fetch works
# 6, 7 and 8 run side by side, each with its own daemons. At the end every
# daemon gets SIGTERM: exit 0, no sanitizer report (with
# MPSOCKS_BUILD=build/asan).
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy \
    no_proxy NO_PROXY
# every uplink through linkem: bed_cut for the restart (5)
BED_LINKEM=1
bed_setup 20mbit 40mbit
small=$(bed_make_file small.bin 1)
CLOSED_PORT=$((BED_HTTP_PORT + 3))	# nothing listens there
bed_nginx_start
say "daemons under test: $BED_BUILD"

out=$BED_TMP/out
LP=$BED_LOCAL_PORT
SP=$BED_SRV_PORT
CTL=$((LP + 1))			# the control ports, client namespace
SCTL=$((SP + 10))		# and server namespace
POOL_MIN=2			# the default

# --- helpers -------------------------------------------------------------------

# srv_start NAME PORT CTLPORT [ARGS...]: one more concentrator, as
# bed_server_start starts one, on PORT
srv_start() {
	local name=$1 port=$2 ctl=$3
	shift 3
	bed_spawn "$name" "$NS_SRV" "$BED_TMP/$name.log" \
	    "$BED_BUILD/mpsocks-server" --listen "$BED_PUB:$port" \
	    --key-file "$BED_KEY_SRV" --allow "$BED_DST_NET" \
	    --handshake-timeout 2 --control "127.0.0.1:$ctl" -v "$@"
	bed_wait_port "$NS_SRV" "$port" 10 || bed_fail "$name did not start"
}

# loc_start NAME PORT CTLPORT SRVPORT [ARGS...]: one more mpsocks-local on
# PORT, to the concentrator on SRVPORT (a -c in ARGS replaces the bed's)
loc_start() {
	local name=$1 port=$2 ctl=$3 sport=$4
	shift 4
	bed_spawn "$name" "$NS_CLI" "$BED_TMP/$name.log" \
	    "$BED_BUILD/mpsocks-local" --listen "127.0.0.1:$port" \
	    --server "$BED_PUB:$sport" --key-file "$BED_KEY_CLI" \
	    --control "127.0.0.1:$ctl" -c "$BED_LOCAL_CONF" -v "$@"
	bed_wait_port "$NS_CLI" "$port" 10 || bed_fail "$name did not start"
}

# local_conf FILE KEY=VALUE...: a [local] section and the bed's rule
local_conf() {
	local f=$1 kv
	shift
	{
		printf '[local]\n'
		for kv in "$@"; do
			printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
		done
		cat "$BED_LOCAL_CONF"
	} >"$f"
}

# metric NS PORT SERIES: SERIES (name{labels}) from /metrics on PORT,
# empty if absent
metric() {
	bed_ns "$1" curl -sS --max-time 5 "http://127.0.0.1:$2/metrics" \
	    2>/dev/null | awk -v s="$3" '$1 == s { v = $2 }
	    END { if (v != "") print v + 0 }'
}
mnum() { local v; v=$(metric "$@"); echo "${v:-0}"; }
ready_of() { mnum "$NS_CLI" "$1" 'mpsocks_pool_tunnels{state="ready"}'; }
opening_of() { mnum "$NS_CLI" "$1" 'mpsocks_pool_tunnels{state="opening"}'; }
target_of() { mnum "$NS_CLI" "$1" mpsocks_pool_target; }
hits_of() { mnum "$NS_CLI" "$1" 'mpsocks_pool_takes_total{result="hit"}'; }
misses_of() { mnum "$NS_CLI" "$1" 'mpsocks_pool_takes_total{result="miss"}'; }
idle_of() { mnum "$NS_SRV" "$1" mpsocks_idle_tunnels; }
pool_str() {
	echo "ready=$(ready_of "$1") opening=$(opening_of "$1")" \
	    "target=$(target_of "$1")" \
	    "subflows=$(mnum "$NS_CLI" "$1" mpsocks_pool_subflows)" \
	    "hits=$(hits_of "$1") misses=$(misses_of "$1")"
}

# wait_ready CTL N SECONDS: until the pool behind CTL has N ready
wait_ready() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(ready_of "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_full CTL SECONDS: until the pool is at rest: its target ready,
# nothing opening, the same twice in a row
wait_full() {
	local i r o t last=
	for ((i = 0; i < $2 * 10; i++)); do
		r=$(ready_of "$1") o=$(opening_of "$1") t=$(target_of "$1")
		if [ "$t" -gt 0 ] && [ "$r" -ge "$t" ] && [ "$o" -eq 0 ]; then
			[ "$last" = "$r" ] && return 0
			last=$r
		else
			last=
		fi
		sleep 0.1
	done
	return 1
}

# sfetch PORT URL OUT: curl through the SOCKS5 proxy on PORT; sets f_rc,
# f_code and f_err (its message; curl 7.88 has no %{proxy_error})
sfetch() {
	f_rc=0
	rm -f "$3"
	f_code=$(bed_ns "$NS_CLI" curl -sS --max-time 20 -o "$3" \
	    -w '%{http_code}' --socks5-hostname "127.0.0.1:$1" "$2" \
	    2>"$out/curl.err") || f_rc=$?
	f_err=$(head -c 200 "$out/curl.err" | tr '\n' ' ')
}
# exact OUT: the last sfetch got 200 and small.bin byte-exact in OUT
exact() {
	[ "$f_rc" -eq 0 ] && [ "$f_code" = 200 ] && bed_same_file "$small" "$1"
}
fetch_str() { echo "curl exit $f_rc, HTTP $f_code${f_err:+ ($f_err)}"; }

lines_of() { wc -l <"$1"; }
# since FILE MARK: FILE after its first MARK lines
since() { tail -n +"$(($2 + 1))" "$1"; }
count_since() { since "$1" "$2" | grep -cE "$3" || true; }
# wait_log FILE MARK REGEX [SECONDS]: REGEX in FILE after line MARK
wait_log() {
	local i
	for ((i = 0; i < ${4:-5} * 10; i++)); do
		since "$1" "$2" | grep -qE "$3" && return 0
		sleep 0.1
	done
	return 1
}
fds_of() { ls "/proc/$1/fd" | wc -l; }
now_ms() { date +%s%3N; }


# --- the daemons ---------------------------------------------------------------
bed_server_start --control "127.0.0.1:$SCTL"
bed_local_start --control "127.0.0.1:$CTL"
loc_start localnopool $((LP + 2)) $((LP + 3)) "$SP" --no-pool
loc_start localstrict $((LP + 4)) $((LP + 5)) "$SP" --strict-replies
url=$(bed_url small.bin)
closed=http://$BED_DST_IP:$CLOSED_PORT/

# --- 1. pool hit ---------------------------------------------------------------
bed_expect "pool: 2 tunnels ready within 10 s of the start" \
    wait_ready "$CTL" 2 10
wait_full "$CTL" 5 || true
# the concentrator counts a tunnel idle once no request came for 1 s
# (TS_IDLE_GRACE_MS): the pools of local and localstrict, 4
for ((i = 0; i < 30; i++)); do
	[ "$(idle_of "$SCTL")" -ge 4 ] && break
	sleep 0.1
done
idle=$(idle_of "$SCTL")
say "measured: pool after start: $(pool_str "$CTL"); concentrator idle tunnels: $idle"
bed_expect "the concentrator counts both pools' tunnels idle ($idle = 4)" \
    [ "$idle" -eq 4 ]
h0=$(hits_of "$CTL") m0=$(misses_of "$CTL")
ml=$(lines_of "$BED_TMP/local.log") ms=$(lines_of "$BED_TMP/server.log")
sfetch "$LP" "$url" "$out/hit"
h1=$(hits_of "$CTL") m1=$(misses_of "$CTL")
takes=$(since "$BED_TMP/local.log" "$ml" | grep 'event=pool_take' || true)
ntake=$(printf '%s' "$takes" | grep -c . || true)
ntaken=$(count_since "$BED_TMP/server.log" "$ms" 'event=idle_taken')
say "measured: SOCKS5 fetch with the pool full: $(fetch_str); hits $h0 -> $h1, misses $m0 -> $m1; concentrator idle_taken lines: $ntaken"
say "  ${takes:-no pool_take line}"
bed_expect "pool hit: HTTP 200, byte-exact" exact "$out/hit"
bed_expect "pool hit: hits +1 ($h0 -> $h1), misses unchanged ($m0 -> $m1)" \
    eval "[ $h1 -eq $((h0 + 1)) ] && [ $m1 -eq $m0 ]"
bed_expect "pool hit: mpsocks-local logged one pool_take" [ "$ntake" -eq 1 ]
bed_expect "pool hit: the taken tunnel had a subflow on each uplink" \
    eval "printf '%s' \"\$takes\" | grep -q ' subflows=2 '"
bed_expect "pool hit: the concentrator took one idle tunnel (idle_taken)" \
    [ "$ntaken" -eq 1 ]

# --- 2. pool miss: --no-pool ---------------------------------------------------
ms=$(lines_of "$BED_TMP/server.log")
sfetch $((LP + 2)) "$url" "$out/nopool"
hit=$(metric "$NS_CLI" $((LP + 3)) 'mpsocks_pool_takes_total{result="hit"}')
rdy=$(metric "$NS_CLI" $((LP + 3)) 'mpsocks_pool_tunnels{state="ready"}')
npl=$(grep -cE 'event=pool_|warm pool' "$BED_TMP/localnopool.log" || true)
ntaken=$(count_since "$BED_TMP/server.log" "$ms" 'event=idle_taken')
say "measured: --no-pool fetch: $(fetch_str); hit metric '${hit}', ready metric '${rdy}', pool lines in its log: $npl; concentrator idle_taken lines: $ntaken"
bed_expect "no pool: HTTP 200, byte-exact" exact "$out/nopool"
bed_expect "no pool: no hit counted (metric '${hit}' absent or 0)" \
    [ "${hit:-0}" -eq 0 ]
bed_expect "no pool: no ready tunnel (metric '${rdy}' absent or 0)" \
    [ "${rdy:-0}" -eq 0 ]
bed_expect "no pool: no pool line in its log" [ "$npl" -eq 0 ]
bed_expect "no pool: its cold tunnel was not taken for an idle one at the concentrator" \
    [ "$ntaken" -eq 0 ]

# --- 3. strict replies, and the optimistic default ----------------------------
sfetch $((LP + 4)) "$url" "$out/strict"
say "measured: --strict-replies fetch: $(fetch_str)"
bed_expect "strict: HTTP 200, byte-exact" exact "$out/strict"
sfetch $((LP + 4)) "$closed" "$out/strict-closed"
say "measured: --strict-replies, closed port: $(fetch_str)"
# curl: "Can't complete SOCKS5 connection to ADDR. (5)", CURLE_PROXY
bed_expect "strict, closed port: SOCKS5 reply 5 (curl 97, got $f_rc)" \
    eval "[ $f_rc -eq 97 ] && printf '%s' \"\$f_err\" | grep -q 'SOCKS5 .*(5)'"
ml=$(lines_of "$BED_TMP/local.log")
sfetch "$LP" "$closed" "$out/opt-closed"
say "measured: optimistic (default), closed port: $(fetch_str)"
bed_expect "optimistic, closed port: success, then a reset (curl $f_rc, no SOCKS error)" \
    eval "[ $f_rc -ne 0 ] && [ $f_rc -ne 97 ] &&
        ! printf '%s' \"\$f_err\" | grep -qi socks"
bed_expect "optimistic, closed port: logged 'tunnel failed after an optimistic reply'" \
    wait_log "$BED_TMP/local.log" "$ml" 'tunnel failed after an optimistic reply'
since "$BED_TMP/local.log" "$ml" | grep -E 'tunnel_fail|optimistic' |
    sed 's/^/    /' || true

# --- 4. HTTP CONNECT, and the app's first bytes with the request ---------------
h0=$(hits_of "$CTL")
rc=0
res=$(bed_ns "$NS_CLI" curl -sS --max-time 20 -o "$out/connect" \
    -w '%{http_connect} %{http_code}' -p -x "http://127.0.0.1:$LP" "$url" \
    2>&1) || rc=$?
h1=$(hits_of "$CTL")
say "measured: curl -p (CONNECT): '$res' exit $rc, hits $h0 -> $h1"
bed_expect "CONNECT: 200 from the proxy, HTTP 200, byte-exact" \
    eval "[ '$res' = '200 200' ] && bed_same_file '$small' '$out/connect'"
bed_expect "CONNECT: a pooled tunnel (hits +1)" [ "$h1" -eq $((h0 + 1)) ]

printf 'CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\nGET /small.bin HTTP/1.0\r\nHost: %s\r\n\r\n' \
    "$BED_DST_NAME" "$BED_HTTP_PORT" "$BED_DST_NAME" "$BED_HTTP_PORT" \
    "$BED_DST_NAME" >"$BED_TMP/early.req"
ml=$(lines_of "$BED_TMP/local.log")
r=$(timeout 30 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
    http-raw 127.0.0.1 "$LP" "$BED_TMP/early.req" "$out/early.resp" 10 \
    2>&1) || true
"$PY" "$BED_LIB_DIR/nettool.py" split-connect "$out/early.resp" "$out/early" || true
say "measured: raw CONNECT + GET in one write: $r; proxy said: $(head -n1 "$out/early.proxy" | tr -d '\r'); origin said: $(head -n1 "$out/early.origin" | tr -d '\r')"
wait_log "$BED_TMP/local.log" "$ml" 'event=http method=CONNECT status=200' ||
    true
early=$(since "$BED_TMP/local.log" "$ml" | grep -m1 'event=early bytes=' ||
    true)
sid=$(printf '%s' "$early" | sed -n 's/.*s=\([0-9a-f]*\) event=early.*/\1/p')
nearly=$(printf '%s' "$early" | sed -n 's/.*event=early bytes=\([0-9]*\).*/\1/p')
since "$BED_TMP/local.log" "$ml" | grep -E "s=${sid:-none} " | sed 's/^/    /'
# the order of its lines: the early bytes left (after the 200) before the
# tunnel's answer made it log the CONNECT
order=$(since "$BED_TMP/local.log" "$ml" | grep -E "s=${sid:-none} " |
    grep -oE 'event=(early|http)' | tr '\n' ' ')
bed_expect "early bytes: the proxy's 200" \
    grep -q '^HTTP/1.1 200' "$out/early.proxy"
bed_expect "early bytes: the origin's 200 and the body byte-exact" \
    eval "grep -q '^HTTP/1.1 200' '$out/early.origin' &&
        bed_same_file '$small' '$out/early.body'"
bed_expect "early bytes: logged event=early bytes=${nearly:-none} > 0" \
    [ "${nearly:-0}" -gt 0 ]
bed_expect "early bytes: sent (after the 200) before the tunnel answered (${order})" \
    [ "$order" = "event=early event=http " ]

# --- 5. concentrator restart ---------------------------------------------------
bed_expect "restart: the pool at rest first" wait_full "$CTL" 10
lpid=$(bed_pid local)
pool0=$(( $(ready_of "$CTL") + $(opening_of "$CTL") ))
fd0=$(fds_of "$lpid")
say "measured: before the restart: $(pool_str "$CTL"); mpsocks-local holds $fd0 descriptors"
# no FIN may reach the pool before the fetch: the uplinks are cut while
# the concentrator goes and comes back
bed_cut 1
bed_cut 2
bed_term_status server
rc_srv1=$term_rc
mv "$BED_TMP/server.log" "$BED_TMP/server-1.log"
bed_server_start --control "127.0.0.1:$SCTL"
bed_restore 1
bed_restore 2
ml=$(lines_of "$BED_TMP/local.log")
t0=$(now_ms)
sfetch "$LP" "$url" "$out/restart"
t1=$(now_ms)
say "measured: fetch right after the restart: $(fetch_str) in $((t1 - t0)) ms"
since "$BED_TMP/local.log" "$ml" |
    grep -E 'event=(pool_take|pool_dead|pool_closed|pool_fail|close )' |
    sed 's/^/    /' || true
ndead=$(count_since "$BED_TMP/local.log" "$ml" 'event=pool_dead')
ntake=$(count_since "$BED_TMP/local.log" "$ml" 'event=pool_take')
say "measured: path taken: pool_take $ntake, pool_dead (retried cold) $ndead"
bed_expect "restart: the fetch at once is HTTP 200, byte-exact" \
    exact "$out/restart"
bed_expect "restart: and took under 5 s ($((t1 - t0)) ms)" \
    [ $((t1 - t0)) -lt 5000 ]
bed_expect "restart: the old concentrator exited 0 on SIGTERM (got $rc_srv1)" \
    [ "$rc_srv1" = 0 ]
full_again() {
	[ "$(idle_of "$SCTL")" -ge 2 ] && wait_full "$CTL" 1
}
ok=0
for ((i = 0; i < 20; i++)); do
	full_again && { ok=1; break; }
	sleep 0.5
done
say "measured: after the restart: $(pool_str "$CTL"); new concentrator idle tunnels $(idle_of "$SCTL")"
bed_expect "restart: the pool full again on the new concentrator within 10 s" \
    [ "$ok" -eq 1 ]
pool1=$(( $(ready_of "$CTL") + $(opening_of "$CTL") ))
fd1=$(fds_of "$lpid")
say "measured: descriptors: $fd0 with $pool0 pooled before, $fd1 with $pool1 pooled after"
bed_expect "restart: no descriptor leaked ($fd1 - $pool1 = $fd0 - $pool0)" \
    [ $((fd1 - pool1)) -eq $((fd0 - pool0)) ]

# --- 6, 7, 8 side by side --------------------------------------------------------
printf '[server]\npool_max_per_key = 2\n' >"$BED_TMP/cap-server.conf"
printf '[server]\npool_max_per_key = 0\n' >"$BED_TMP/off-server.conf"
printf '[server]\npool_idle_timeout = 5\n' >"$BED_TMP/idle-server.conf"
local_conf "$BED_TMP/cap-local.conf" pool_min=4
local_conf "$BED_TMP/renew-local.conf" pool_refresh=5
local_conf "$BED_TMP/idle-local.conf" pool_refresh=60
srv_start capsrv $((SP + 1)) $((SCTL + 1)) -c "$BED_TMP/cap-server.conf"
srv_start idlesrv $((SP + 2)) $((SCTL + 2)) -c "$BED_TMP/idle-server.conf"
srv_start offsrv $((SP + 3)) $((SCTL + 3)) -c "$BED_TMP/off-server.conf"
loc_start localcap $((LP + 6)) $((LP + 7)) $((SP + 1)) \
    -c "$BED_TMP/cap-local.conf"
loc_start localrenew $((LP + 8)) $((LP + 9)) "$SP" \
    -c "$BED_TMP/renew-local.conf"
loc_start localidle $((LP + 10)) $((LP + 11)) $((SP + 2)) \
    -c "$BED_TMP/idle-local.conf"
loc_start localoff $((LP + 12)) $((LP + 13)) $((SP + 3))
loc_start localoffcold $((LP + 14)) $((LP + 15)) $((SP + 3)) --no-pool
CAPCTL=$((LP + 7)) RENCTL=$((LP + 9)) IDLCTL=$((LP + 11))
bed_expect "renewal: the pool ready within 10 s" \
    wait_ready "$RENCTL" "$POOL_MIN" 10
bed_expect "idle timeout: the pool ready within 10 s" \
    wait_ready "$IDLCTL" "$POOL_MIN" 10
idle_ready_ms=$(now_ms)
rl=$(lines_of "$BED_TMP/localrenew.log")
il=$(lines_of "$BED_TMP/localidle.log")
# 12 s, a sample each 0.5 s: the cap's idle count and the renewing
# pool's ready count
cap_max=0 ren_min=999 ren_series= cap_series=
for ((i = 0; i < 24; i++)); do
	c=$(idle_of "$((SCTL + 1))")
	r=$(ready_of "$RENCTL")
	[ "$c" -le "$cap_max" ] || cap_max=$c
	[ "$r" -ge "$ren_min" ] || ren_min=$r
	cap_series="$cap_series $c" ren_series="$ren_series $r"
	sleep 0.5
done
acc12=$(grep -c 'event=accept ' "$BED_TMP/capsrv.log" || true)

# 6. the per-key cap
say "measured: capped concentrator's idle tunnels, every 0.5 s:$cap_series (max $cap_max)"
wmax=$(sed -n 's/.*event=pool_fail .* retry_ms=\([0-9]*\).*/\1/p' \
    "$BED_TMP/localcap.log" | sort -n | tail -n 1)
say "measured: capped concentrator accepted $acc12 tunnels in 12 s; the local's longest wait after a refusal: ${wmax:-none} ms"
say "measured: localcap: $(pool_str "$CAPCTL"); pool_fail lines $(grep -c 'event=pool_fail' "$BED_TMP/localcap.log" || true); capsrv idle_cap lines $(grep -c 'event=idle_cap' "$BED_TMP/capsrv.log" || true)"
grep -E 'event=pool_fail' "$BED_TMP/localcap.log" | head -n 3 |
    sed 's/^/    /' || true
bed_expect "cap: never more than 2 idle tunnels for the key (max $cap_max)" \
    [ "$cap_max" -le 2 ]
bed_expect "cap: the concentrator logged idle_cap" \
    grep -q 'event=idle_cap' "$BED_TMP/capsrv.log"
bed_expect "cap: the local logged pool_fail" \
    grep -q 'event=pool_fail' "$BED_TMP/localcap.log"
# Backing off doubles the wait after each refusal (0.5, 1, 2, 4, 8 s): a
# few rounds of tunnels, further and further apart, not one a second
# (that was 20 in 12 s, each wait 500 ms: a handshake that succeeded
# reset the count, although the tunnel was closed at once)
bed_expect "cap: the local backs off (accepted $acc12 tunnels in 12 s, <= 12)" \
    [ "$acc12" -le 12 ]
bed_expect "cap: the wait grows (longest ${wmax:-none} ms, >= 4000)" \
    [ "${wmax:-0}" -ge 4000 ]
sfetch $((LP + 6)) "$url" "$out/cap"
say "measured: fetch through the capped pool: $(fetch_str)"
bed_expect "cap: a fetch through it is byte-exact" exact "$out/cap"

# 6b. pooling off at a concentrator (pool_max_per_key = 0): pooled
# tunnels refused, cold ones served
offacc=$(grep -c 'event=accept ' "$BED_TMP/offsrv.log" || true)
say "measured: pooling off: offsrv accepted $offacc tunnels in 12 s; localoff: $(pool_str $((LP + 13))), pool_fail lines $(grep -c 'event=pool_fail' "$BED_TMP/localoff.log" || true)"
bed_expect "pooling off: the concentrator closed the pooled tunnels" \
    grep -q 'pooled tunnels off' "$BED_TMP/offsrv.log"
bed_expect "pooling off: the local backs off (accepted $offacc in 12 s, <= 12)" \
    [ "$offacc" -le 12 ]
sfetch $((LP + 12)) "$url" "$out/off"
say "measured: pooling off, fetch through a pooling local: $(fetch_str)"
bed_expect "pooling off: a fetch through a pooling local is byte-exact" \
    exact "$out/off"
sfetch $((LP + 14)) "$url" "$out/offcold"
say "measured: pooling off, fetch through a --no-pool local: $(fetch_str)"
bed_expect "pooling off: a fetch through a --no-pool local is byte-exact" \
    exact "$out/offcold"

# 7. renewal
rnew=$(tail -n +"$((rl + 1))" "$BED_TMP/localrenew.log" | grep -c 'event=pool_ready' || true)
rlow=$(tail -n +"$((rl + 1))" "$BED_TMP/localrenew.log" | grep 'event=pool_ready' |
    sed -n 's/.* ready=\([0-9]*\).*/\1/p' | sort -n | head -n 1)
say "measured: renewal (pool_refresh 5): ready every 0.5 s:$ren_series (min $ren_min); $rnew tunnels made ready in 12 s, the lowest ready count they reported: ${rlow:-none}"
tail -n +"$((rl + 1))" "$BED_TMP/localrenew.log" | grep 'event=pool_' |
    head -n 8 | sed 's/^/    /' || true
bed_expect "renewal: the tunnels were replaced ($rnew made ready in 12 s, >= 4)" \
    [ "$rnew" -ge 4 ]
bed_expect "renewal: ready never below pool_min at the samples (min $ren_min)" \
    [ "$ren_min" -ge "$POOL_MIN" ]
bed_expect "renewal: each replacement ready before the old one went (ready ${rlow:-none} > $POOL_MIN)" \
    [ "${rlow:-0}" -gt "$POOL_MIN" ]
rgone=$(tail -n +"$((rl + 1))" "$BED_TMP/localrenew.log" | grep -c 'event=pool_renewed' || true)
bed_expect "renewal: and the old ones went ($rgone pool_renewed, >= 4)" \
    [ "$rgone" -ge 4 ]

# 8. the concentrator's idle timeout
while [ $(($(now_ms) - idle_ready_ms)) -lt 7000 ]; do sleep 0.2; done
nidle=$(grep -c 'event=close reason="idle"' "$BED_TMP/idlesrv.log" || true)
nclosed=$(grep -c 'event=pool_closed' "$BED_TMP/localidle.log" || true)
inew=$(tail -n +"$((il + 1))" "$BED_TMP/localidle.log" | grep -c 'event=pool_ready' || true)
wait_ready "$IDLCTL" "$POOL_MIN" 5 || true
say "measured: idle timeout 5 s: the concentrator closed $nidle idle tunnels, the local saw $nclosed close and made $inew new ready; now $(pool_str "$IDLCTL"), concentrator idle $(idle_of $((SCTL + 2)))"
grep -E 'event=(pool_closed|pool_fail)' "$BED_TMP/localidle.log" | head -n 4 |
    sed 's/^/    /' || true
bed_expect "idle timeout: the concentrator closed the idle tunnels ($nidle >= 2)" \
    [ "$nidle" -ge 2 ]
bed_expect "idle timeout: the local saw them go and replaced them ($nclosed closed, $inew new)" \
    eval "[ $nclosed -ge 2 ] && [ $inew -ge 2 ]"
bed_expect "idle timeout: ready again (>= $POOL_MIN)" \
    [ "$(ready_of "$IDLCTL")" -ge "$POOL_MIN" ]
sfetch $((LP + 10)) "$url" "$out/idle"
say "measured: fetch after the idle timeouts: $(fetch_str)"
bed_expect "idle timeout: a fetch is byte-exact" exact "$out/idle"

# --- the end: SIGTERM, exit status, sanitizer reports --------------------------
san_re='ERROR: AddressSanitizer|runtime error:|LeakSanitizer'
for d in local localnopool localstrict localcap localrenew localidle \
    localoff localoffcold server capsrv idlesrv offsrv; do
	bed_term_status "$d"
	n=$(grep -Ec "$san_re" "$BED_TMP/$d.log" || true)
	say "measured: $d: exit $term_rc after SIGTERM, $n sanitizer report lines"
	[ "$n" -eq 0 ] || grep -E -A40 "$san_re" "$BED_TMP/$d.log" |
	    head -n 60 | sed 's/^/    /'
	bed_expect "$d: exit 0 on SIGTERM (got $term_rc), no sanitizer report" \
	    eval "[ '$term_rc' = 0 ] && [ $n -eq 0 ]"
done
n=$(grep -Ec "$san_re" "$BED_TMP/server-1.log" || true)
bed_expect "server before the restart: no sanitizer report" [ "$n" -eq 0 ]
bed_finish
