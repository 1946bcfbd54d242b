#!/bin/bash
# SOCKS5 reply codes end to end, with --strict-replies (the default,
# optimistic replies, answers success at once and resets on failure:
# t_pool covers that): the app sees the concentrator's real result, through real curl where curl can ask for it (curl 7.88 reports the
# code as "(N)" in "Can't complete SOCKS5 connection to ... (N)"), through
# a raw SOCKS5 client (nettool.py socks-request) where it cannot:
#   - a closed port on the destination host            -> 0x05
#   - a name the resolver says does not exist          -> 0x04
#   - a name while the resolver does not answer        -> 0x04/0x06, in time
#   - an unrouted 10.x subnet, and a silent host on the destination link,
#     with --connect-timeout 2 on the server           -> not 0, in time
#   - BIND, UDP ASSOCIATE                              -> 0x07
#   - address type 9                                   -> 0x08
#   - RSV not 0x00 (RFC 1928 fixes it)                 -> 0x01
#   - username/password (--user alice:secret): right credentials work,
#     a wrong password is rejected and nothing reaches the destination, no
#     credentials gets "no acceptable method" (0xFF)
#   - an IPv6 destination (fd00::/8, allowed with --allow) is fetched
#     byte-exact
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 40mbit
bed_ipv6
f6=$(bed_make_file v6.bin 3)
bed_nginx_start

CONNECT_TIMEOUT=2
HS_TIMEOUT=2		# bed_server_start's --handshake-timeout
B=$BED_B
unrouted_net=10.$B.200.0/24	# allowed on the server, but no route to it
unrouted_ip=10.$B.200.7
silent_ip=10.$B.30.99		# on the destination link; no one has it

# a resolver for the concentrator that says NXDOMAIN to every name; its
# resolv.conf (from bed_setup) points at 127.0.0.1
dnslog=$BED_TMP/dns-queries.log
: >"$dnslog"
bed_spawn dns "$NS_SRV" "$BED_TMP/dns.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" dns-nxdomain 127.0.0.1 53 "$dnslog"

bed_server_start --connect-timeout "$CONNECT_TIMEOUT" \
    --allow "$BED_DST_NET6" --allow "$unrouted_net"
bed_local_start --strict-replies --connect-timeout "$CONNECT_TIMEOUT"
proxy=127.0.0.1:$BED_LOCAL_PORT

# a second proxy that requires a password
auth_port=$((BED_LOCAL_PORT + 1))
bed_spawn localauth "$NS_CLI" "$BED_TMP/local-auth.log" \
    "$BED_BUILD/mpsocks-local" --listen "127.0.0.1:$auth_port" \
    --server "$BED_PUB:$BED_SRV_PORT" --key-file "$BED_KEY_CLI" \
    --user alice:secret --strict-replies -c "$BED_LOCAL_CONF" -v
bed_wait_port "$NS_CLI" "$auth_port" 10 ||
    bed_fail "mpsocks-local --user did not start"

closed_port=$((BED_HTTP_PORT + 3))	# nothing listens there

# socks_code PROXYOPT PROXY URL: curl through the proxy; sets curl_rc,
# curl_err (its message), code (the SOCKS5 reply in "(N)", or "none"),
# secs (wall time). Never fails (the checks look at the variables).
socks_code() {
	local t0
	curl_rc=0
	t0=$(date +%s.%N)
	curl_err=$(bed_ns "$NS_CLI" curl -sS --max-time 30 -o /dev/null \
	    "$1" "$2" "$3" 2>&1) || curl_rc=$?
	secs=$(calc "$(date +%s.%N) - $t0")
	code=$(printf '%s\n' "$curl_err" |
	    sed -n "s/.*Can't complete SOCKS5 connection to .*(\([0-9]*\)).*/\1/p" |
	    head -n1)
	code=${code:-none}
	say "measured: curl $1 $3: exit $curl_rc, reply code $code, ${secs}s: $curl_err"
}

# expect_code DESC WANT PROXYOPT URL: curl exits 97 (CURLE_PROXY) with
# reply WANT
expect_code() {
	local desc=$1 want=$2
	socks_code "$3" "$proxy" "$4"
	bed_expect "$desc: curl exit 97 (got $curl_rc)" [ "$curl_rc" -eq 97 ]
	bed_expect "$desc: reply $want (got $code)" [ "$code" = "$want" ]
}

# --- refused: nothing listens on the destination port -----------------------
expect_code "closed port by IP" 5 --socks5 \
    "http://$BED_DST_IP:$closed_port/"
expect_code "closed port by name" 5 --socks5-hostname \
    "http://$BED_DST_NAME:$closed_port/"
expect_code "closed port on the IPv6 destination" 5 --socks5 \
    "http://[$BED_DST_IP6]:$closed_port/"

# --- a name that does not exist -------------------------------------------------
nxname=nx-$BED_ID.test
expect_code "unresolvable name (NXDOMAIN)" 4 --socks5-hostname \
    "http://$nxname:$BED_HTTP_PORT/"
bed_expect "unresolvable name: answered in time (${secs}s < $((CONNECT_TIMEOUT + HS_TIMEOUT + 3)))" \
    calc_true "$secs < $CONNECT_TIMEOUT + $HS_TIMEOUT + 3"
say "resolver saw:"
sed 's/^/  /' "$dnslog"
# evdns randomises the case of the name it asks (0x20 encoding)
bed_expect "the concentrator asked the resolver for $nxname" \
    grep -qi "query $nxname" "$dnslog"

# a resolver that does not answer at all: the lookup times out
bed_stop dns || true	# (under set -e, bed_stop exits on the wait status)
expect_resolver_dead() {
	socks_code --socks5-hostname "$proxy" "http://dead-$BED_ID.test:$BED_HTTP_PORT/"
	say "measured: name with no resolver answering: reply $code after ${secs}s"
	bed_expect "no resolver: curl exit 97 (got $curl_rc)" [ "$curl_rc" -eq 97 ]
	bed_expect "no resolver: reply 4 or 6 (got $code)" \
	    eval "case '$code' in 4|6) true ;; *) false ;; esac"
	bed_expect "no resolver: reply within connect-timeout + handshake (${secs}s < $((CONNECT_TIMEOUT + HS_TIMEOUT + 3)))" \
	    calc_true "$secs < $CONNECT_TIMEOUT + $HS_TIMEOUT + 3"
}
expect_resolver_dead

# --- unreachable: no route, and a host that never answers --------------------
# An unrouted subnet fails at once (ENETUNREACH); a silent host on a
# connected link is found missing by ARP after ~3 s, which is after the
# connect timeout. Either way: a non-zero code from 03/04/06, answered
# within about connect-timeout + handshake.
unreach() {
	local desc=$1 url=$2
	socks_code --socks5 "$proxy" "$url"
	say "measured: $desc: reply $code after ${secs}s"
	bed_expect "$desc: curl exit 97 (got $curl_rc)" [ "$curl_rc" -eq 97 ]
	bed_expect "$desc: reply is not 0 (got $code)" \
	    eval "[ '$code' != 0 ] && [ '$code' != none ]"
	bed_expect "$desc: reply is 3, 4 or 6 (got $code)" \
	    eval "case '$code' in 3|4|6) true ;; *) false ;; esac"
	bed_expect "$desc: reply within connect-timeout + handshake (${secs}s < $((CONNECT_TIMEOUT + HS_TIMEOUT + 3)))" \
	    calc_true "$secs < $CONNECT_TIMEOUT + $HS_TIMEOUT + 3"
}
unreach "unrouted subnet $unrouted_ip" "http://$unrouted_ip:$BED_HTTP_PORT/"
unreach "silent host $silent_ip" "http://$silent_ip:$BED_HTTP_PORT/"

# --- what curl cannot ask: raw SOCKS5 ------------------------------------------
# raw DESC WANT_REP CMD ATYP ADDR PORT: the proxy replies WANT_REP and then
# closes the connection
raw() {
	local desc=$1 want=$2 out rc=0 rep opts=()
	shift 2
	if [ "$1" = --rsv ]; then opts=("$1" "$2"); shift 2; fi
	out=$(timeout 40 ip netns exec "$NS_CLI" "$PY" \
	    "$BED_LIB_DIR/nettool.py" socks-request "${opts[@]}" 127.0.0.1 \
	    "$BED_LOCAL_PORT" "$@" 2>&1) || rc=$?
	say "measured: raw $desc: exit $rc: ${out//$'\n'/ }"
	rep=$(printf '%s\n' "$out" | sed -n 's/^rep=\(0x[0-9a-f]*\).*/\1/p')
	bed_expect "$desc: reply $want (got ${rep:-none})" \
	    [ "${rep:-none}" = "$want" ]
	bed_expect "$desc: the proxy closes after the reply" \
	    eval "printf '%s\n' \"\$out\" | grep -Eq '^then=(eof|reset)'"
}
raw "BIND (cmd 2)" 0x07 2 1 "$BED_DST_IP" "$BED_HTTP_PORT"
raw "UDP ASSOCIATE (cmd 3)" 0x07 3 1 "$BED_DST_IP" "$BED_HTTP_PORT"
raw "address type 9" 0x08 1 9 0a0b0c0d "$BED_HTTP_PORT"
# RFC 1928 fixes RSV at 0x00: anything else is refused, not connected
raw "RSV 0xff" 0x01 --rsv 0xff 1 1 "$BED_DST_IP" "$BED_HTTP_PORT"
# control: the same raw client gets 0x00 for a good CONNECT
out=$(timeout 40 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
    socks-request 127.0.0.1 "$BED_LOCAL_PORT" 1 1 "$BED_DST_IP" \
    "$BED_HTTP_PORT" 2>&1) || true
say "measured: raw CONNECT (control): ${out//$'\n'/ }"
bed_expect "raw CONNECT (control): reply 0x00" \
    eval "printf '%s\n' \"\$out\" | grep -q '^rep=0x00'"

# --- username/password -------------------------------------------------------------
aproxy=127.0.0.1:$auth_port
access_has() { grep -c "GET /index.html?$1 " "$BED_TMP/access.log" || true; }

res=$(bed_curl "$BED_TMP/out/auth-ok" --socks5-hostname "alice:secret@$aproxy" \
    "$(bed_url "index.html?goodpw")" 2>&1) || say "curl failed: $res"
say "measured: curl --socks5-hostname alice:secret@: $res"
bed_expect "right credentials: HTTP 200" eval "[ '${res%% *}' = 200 ]"
bed_expect "right credentials: page byte-exact" \
    bed_same_file "$BED_TMP/www/index.html" "$BED_TMP/out/auth-ok"

rc=0
err=$(bed_ns "$NS_CLI" curl -sS --max-time 30 -o /dev/null \
    --socks5-hostname "alice:wrong@$aproxy" \
    "$(bed_url "index.html?wrongpw")" 2>&1) || rc=$?
say "measured: curl with a wrong password: exit $rc: $err"
bed_expect "wrong password: curl fails (exit $rc)" [ "$rc" -ne 0 ]
bed_expect "wrong password: curl says the proxy rejected the user" \
    eval "printf '%s\n' \"\$err\" | grep -qi 'rejected'"

rc=0
err=$(bed_ns "$NS_CLI" curl -sS --max-time 30 -o /dev/null \
    --socks5-hostname "$aproxy" "$(bed_url "index.html?nocreds")" 2>&1) ||
    rc=$?
say "measured: curl without credentials: exit $rc: $err"
bed_expect "no credentials: curl fails (exit $rc)" [ "$rc" -ne 0 ]
bed_expect "no credentials: curl says no method was acceptable" \
    eval "printf '%s\n' \"\$err\" | grep -qi 'no authentication method'"

out=$(timeout 40 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
    socks-request 127.0.0.1 "$auth_port" 1 1 "$BED_DST_IP" \
    "$BED_HTTP_PORT" 2>&1) && rc=0 || rc=$?
say "measured: raw greeting offering only 'no auth': exit $rc: ${out//$'\n'/ }"
bed_expect "no credentials (raw): method 0xff" \
    eval "printf '%s\n' \"\$out\" | grep -q '^method=0xff'"

out=$(timeout 40 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
    socks-request --user alice:wrong 127.0.0.1 "$auth_port" 1 1 \
    "$BED_DST_IP" "$BED_HTTP_PORT" 2>&1) && rc=0 || rc=$?
say "measured: raw wrong password: exit $rc: ${out//$'\n'/ }"
bed_expect "wrong password (raw): auth status not 0, no request answered" \
    eval "printf '%s\n' \"\$out\" | grep -Eq '^auth=0x0*[1-9a-f]' &&
        ! printf '%s\n' \"\$out\" | grep -q '^rep='"

sleep 0.5	# nginx logs at the end of a request
say "nginx access log:"
sed 's/^/  /' "$BED_TMP/access.log"
bed_expect "nginx saw the request with the right password" \
    [ "$(access_has goodpw)" -eq 1 ]
bed_expect "nginx saw no request for the wrong password" \
    [ "$(access_has wrongpw)" -eq 0 ]
bed_expect "nginx saw no request without credentials" \
    [ "$(access_has nocreds)" -eq 0 ]
say "mpsocks-local --user log, auth:"
grep -E 'auth|method|refuse' "$BED_TMP/local-auth.log" | sed 's/^/  /' ||
    say "  (none)"

# --- IPv6 destination ----------------------------------------------------------------
res=$(bed_curl "$BED_TMP/out/v6" --socks5 "$proxy" "$(bed_url_ip6 v6.bin)") ||
    say "curl failed"
say "measured: IPv6 download $(bed_url_ip6 v6.bin): ${res:-none}"
bed_expect "IPv6 destination: HTTP 200" eval "[ '${res%% *}' = 200 ]"
bed_expect "IPv6 destination: byte-exact" bed_same_file "$f6" "$BED_TMP/out/v6"
bed_expect "server logged the IPv6 target" \
    grep -q "event=close reason=\"done\".*target=\[$BED_DST_IP6\]:$BED_HTTP_PORT" \
    "$BED_TMP/server.log"

say "server log, refusals:"
grep -E 'event=refuse' "$BED_TMP/server.log" | sed 's/^/  /' || say "  (none)"

bed_expect "server still running" bed_alive "$(bed_pid server)"
bed_expect "mpsocks-local still running" bed_alive "$(bed_pid local)"
bed_expect "mpsocks-local --user still running" \
    bed_alive "$(bed_pid localauth)"
bed_finish
