#!/bin/bash
# Per-destination policy (issue 8, docs/policy.md) end to end. The
# concentrator namespace also routes plain IP between the client and the
# destination (bed_forwarding on): that is the home's own internet path,
# which `direct` takes. Checks:
#   - direct: a CIDR rule fetches byte-exact from the destination, which
#     sees the client's up1 address; the concentrator logs no connection;
#     a domain rule does the same for a name, resolved here to connect
#   - built-in default: with no config, a private address goes direct
#   - reject: SOCKS5 reply 0x02 (a suffix rule on a name, never resolved),
#     HTTP 403, SOCKS4 0x5B; nothing reaches the concentrator. The 403 is
#     answered within one loop turn, which once lost it: linger.c's
#     deferred write callback sent the FIN before the answer (fixed)
#   - GeoIP: a test .mmdb maps the destination's IPv4 address to DE; a
#     country rule sends it direct while its IPv6 address stays bonded; a
#     name resolved locally (hosts file) follows the same rule; --explain
#     prints the country and the action; conf/policy-example.conf is valid
#   - pinned: `interface = up2` leaves through up2 only (uplink counters)
#   - SIGHUP: a download started under the old rules completes byte-exact,
#     new connections get the new rules; an invalid config keeps the old
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null ||
    bed_skip "libmaxmind-db-writer-perl not installed (make deps)"
bed_setup 20mbit 20mbit
bed_ipv6
f=$(bed_make_file p.bin 4)
size=$(stat -c %s "$f")
bed_nginx_start
bed_server_start --allow "$BED_DST_NET6"
bed_forwarding on
B=$BED_B
# sockets bound to up2 need a route out of it (as on a multi-homed host)
ip -n "$NS_CLI" route add default via "10.$B.2.1" dev up2 metric 200
T=$BED_TMP

# start_local NAME PORT [ARGS...]
start_local() {
	local name=$1 port=$2
	shift 2
	bed_spawn "$name" "$NS_CLI" "$T/$name.log" "$BED_BUILD/mpsocks-local" \
	    --listen "127.0.0.1:$port" --server "$BED_PUB:$BED_SRV_PORT" \
	    --key-file "$BED_KEY_CLI" -v "$@"
	bed_wait_port "$NS_CLI" "$port" 10 ||
	    bed_fail "mpsocks-local $name did not start"
}

srv_accepts() { grep -c 'event=accept ' "$T/server.log" || true; }
# the address the destination saw for the last request of PATH
seen_from() { grep " /$1 " "$T/access.log" | tail -n1 | cut -d' ' -f1; }
logged() { grep -q -- "$2" "$T/$1.log"; }
same() { [ "$1" = "$2" ]; }
le() { [ "$1" -le "$2" ]; }

# fetch NAME PROXYOPT PROXY URL: download p.bin, record byte-exactness
fetch() {
	local name=$1 res
	rm -f "$T/out/$name"
	res=$(bed_curl "$T/out/$name" "$2" "$3" "$4") || say "curl: $?"
	say "measured: $name: $res"
	bed_expect "$name: byte-exact" bed_same_file "$f" "$T/out/$name"
}

# --- direct by CIDR and by name, and the built-in default -----------------
# the client namespace's resolver (evdns reads /etc/hosts) knows the name
printf '%s\t%s\n' "$BED_DST_IP" "$BED_DST_NAME" >>"/etc/netns/$NS_CLI/hosts"
cat >"$T/direct.conf" <<EOF
[rule byname]
domain = $BED_DST_NAME
action = direct
[rule lan]
cidr = $BED_DST_NET
action = direct
[rule rest]
any = yes
action = bond
EOF
P1=$((BED_LOCAL_PORT + 1))
start_local direct "$P1" -c "$T/direct.conf"
a0=$(srv_accepts)
rx0=$(bed_uplink_rx)
fetch direct --socks5 "127.0.0.1:$P1" "$(bed_url_ip p.bin)"
rx1=$(bed_uplink_rx)
a1=$(srv_accepts)
say "measured: concentrator accepts $a0 -> $a1; destination saw $(seen_from p.bin)"
bed_expect "direct: the concentrator saw no connection" same "$a0" "$a1"
bed_expect "direct: the destination saw the client's up1 address" \
    same "$(seen_from p.bin)" "10.$B.1.2"
bed_expect "direct: logged rule=lan action=direct" \
    logged direct "rule=lan action=direct"
read -r u1a u2a <<<"$rx0"
read -r u1b u2b <<<"$rx1"
say "measured: unpinned direct: up1 +$((u1b - u1a)) up2 +$((u2b - u2a)) bytes"
bed_expect "direct unpinned: over up1 (main route)" le "$size" "$((u1b - u1a))"
a0=$(srv_accepts)
fetch direct-name --socks5-hostname "127.0.0.1:$P1" "$(bed_url p.bin)"
a1=$(srv_accepts)
bed_expect "direct by name: the concentrator saw no connection" \
    same "$a0" "$a1"
bed_expect "direct by name: resolved here to connect" \
    logged direct "event=direct_resolve name=$BED_DST_NAME"

P2=$((BED_LOCAL_PORT + 2))
start_local builtin "$P2"			# no config at all
a0=$(srv_accepts)
fetch builtin --socks5 "127.0.0.1:$P2" "$(bed_url_ip p.bin)"
a1=$(srv_accepts)
bed_expect "builtin: a private address goes direct" same "$a0" "$a1"
bed_expect "builtin: logged rule=builtin-local" \
    logged builtin "rule=builtin-local action=direct"

# --- reject -------------------------------------------------------------
cat >"$T/reject.conf" <<EOF
[rule ads]
domain = .ads.test
action = reject
[rule closed]
port = $BED_HTTP_PORT
cidr = $BED_DST_IP
action = reject
[rule rest]
any = yes
action = bond
EOF
P3=$((BED_LOCAL_PORT + 3))
start_local reject "$P3" -c "$T/reject.conf"
a0=$(srv_accepts)
out=$(bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" socks-request \
    127.0.0.1 "$P3" 1 3 tracker.ads.test 443 || true)
say "measured: socks5 tracker.ads.test: $out"
bed_expect "reject: SOCKS5 reply 0x02" grep -q "rep=0x02" <<<"$out"
code=$(bed_ns "$NS_CLI" curl -sS --max-time 20 -o /dev/null \
    -w '%{http_code}' -x "http://127.0.0.1:$P3" \
    "http://www.ads.test/x" 2>/dev/null || true)
say "measured: HTTP proxy www.ads.test: $code"
bed_expect "reject: HTTP 403" same "$code" 403
code=$(bed_ns "$NS_CLI" curl -sS --max-time 20 -o /dev/null \
    -w '%{http_connect}' -p -x "http://127.0.0.1:$P3" \
    "http://www.ads.test:443/x" 2>/dev/null || true)
say "measured: HTTP CONNECT www.ads.test:443: $code"
bed_expect "reject: HTTP CONNECT 403" same "$code" 403
"$PY" -c 'import sys, socket; sys.stdout.buffer.write(b"\x04\x01" +
    int(sys.argv[2]).to_bytes(2, "big") + socket.inet_aton(sys.argv[1]) +
    b"\x00")' "$BED_DST_IP" "$BED_HTTP_PORT" >"$T/s4.req"
bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" http-raw 127.0.0.1 "$P3" \
    "$T/s4.req" "$T/s4.rep" 5 >/dev/null || true
s4=$(od -An -tx1 -N2 "$T/s4.rep" 2>/dev/null | tr -d ' \n' || true)
say "measured: socks4 to $BED_DST_IP:$BED_HTTP_PORT: reply $s4"
bed_expect "reject: SOCKS4 0x5B" same "$s4" 005b
a1=$(srv_accepts)
bed_expect "reject: nothing reached the concentrator" same "$a0" "$a1"
bed_expect "reject: the name was not resolved locally" \
    bash -c "! grep -q 'policy_resolve name=tracker' '$T/reject.log'"

# --- GeoIP ----------------------------------------------------------------
perl "$BED_REPO/tests/tools/mkmmdb.pl" country "$T/geo.mmdb" \
    "$BED_DST_IP/32=DE" || bed_fail "mkmmdb.pl failed"
cat >"$T/geo.conf" <<EOF
[geoip]
country_db = $T/geo.mmdb
[rule home-country]
country = DE
action = direct
[rule rest]
any = yes
action = bond
EOF
P4=$((BED_LOCAL_PORT + 4))
start_local geo "$P4" -c "$T/geo.conf"
a0=$(srv_accepts)
fetch geo-v4 --socks5 "127.0.0.1:$P4" "$(bed_url_ip p.bin)"
a1=$(srv_accepts)
bed_expect "geoip: the DE address went direct" same "$a0" "$a1"
bed_expect "geoip: destination saw the client" same "$(seen_from p.bin)" \
    "10.$B.1.2"
fetch geo-v6 --socks5 "127.0.0.1:$P4" "$(bed_url_ip6 p.bin)"
a2=$(srv_accepts)
bed_expect "geoip: the unmapped IPv6 address stayed bonded" \
    same "$a2" "$((a1 + 1))"
fetch geo-name --socks5-hostname "127.0.0.1:$P4" "$(bed_url p.bin)"
a3=$(srv_accepts)
bed_expect "geoip: the name, resolved locally to DE, went direct" \
    same "$a2" "$a3"
bed_expect "geoip: logged the local lookup" \
    logged geo "policy_resolve name=$BED_DST_NAME"
explain=$(bed_ns "$NS_CLI" "$BED_BUILD/mpsocks-local" -c "$T/geo.conf" \
    --explain "$BED_DST_IP:$BED_HTTP_PORT" 2>&1 || true)
say "measured: --explain:"
say "$explain" | sed 's/^/  /'
bed_expect "--explain: country DE" grep -q "^country: DE" <<<"$explain"
bed_expect "--explain: rule and action" \
    grep -q "^action:  direct" <<<"$explain"
# the sample policy is valid once its files exist
sed "s|^key_file = .*|key_file = $BED_KEY_CLI|; s|^country_db = .*|country_db = $T/geo.mmdb|" \
    "$BED_REPO/conf/policy-example.conf" >"$T/example.conf"
out=$("$BED_BUILD/mpsocks-local" -t -c "$T/example.conf" 2>&1 || true)
say "measured: -t conf/policy-example.conf: $out"
bed_expect "conf/policy-example.conf passes -t" same "$out" "configuration OK"

# --- pinned to up2 ----------------------------------------------------------
cat >"$T/pin.conf" <<EOF
[rule pin]
cidr = $BED_DST_NET
action = direct
interface = up2
EOF
P5=$((BED_LOCAL_PORT + 5))
start_local pin "$P5" -c "$T/pin.conf"
rx0=$(bed_uplink_rx)
tx0=$(bed_uplink_tx)
fetch pin --socks5 "127.0.0.1:$P5" "$(bed_url_ip p.bin)"
rx1=$(bed_uplink_rx)
tx1=$(bed_uplink_tx)
read -r u1a u2a <<<"$rx0"
read -r u1b u2b <<<"$rx1"
read -r t1a t2a <<<"$tx0"
read -r t1b t2b <<<"$tx1"
say "measured: pinned: rx up1 +$((u1b - u1a)) up2 +$((u2b - u2a)), tx up1 +$((t1b - t1a)) up2 +$((t2b - t2a)) bytes"
bed_expect "pinned: the download came in on up2" le "$size" "$((u2b - u2a))"
bed_expect "pinned: up1 carried (almost) nothing" \
    le "$((u1b - u1a))" 65536
bed_expect "pinned: the requests left on up2" le 100 "$((t2b - t2a))"
bed_expect "pinned: destination saw up2's address" \
    same "$(seen_from p.bin)" "10.$B.2.2"

# --- SIGHUP -------------------------------------------------------------------
cat >"$T/hup.conf" <<EOF
[rule web]
port = $BED_HTTP_PORT
action = bond
EOF
P6=$((BED_LOCAL_PORT + 6))
start_local hup "$P6" -c "$T/hup.conf"
bed_spawn slow "$NS_CLI" "$T/slow.log" curl -sS --max-time 60 \
    --limit-rate 600k -o "$T/out/slow" --socks5 "127.0.0.1:$P6" \
    "$(bed_url_ip p.bin)"
sleep 2
cat >"$T/hup.conf" <<EOF
[rule web]
port = $BED_HTTP_PORT
action = reject
EOF
kill -HUP "$(bed_pid hup)"
sleep 1
out=$(bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" socks-request \
    127.0.0.1 "$P6" 1 1 "$BED_DST_IP" "$BED_HTTP_PORT" || true)
say "measured: after SIGHUP: $out"
bed_expect "sighup: new connections get the new rule (0x02)" \
    grep -q "rep=0x02" <<<"$out"
printf '[rule web]\naction = bogus\n' >"$T/hup.conf"
kill -HUP "$(bed_pid hup)"
sleep 1
bed_expect "sighup: an invalid config is logged and refused" \
    logged hup "event=reload_fail"
out=$(bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" socks-request \
    127.0.0.1 "$P6" 1 1 "$BED_DST_IP" "$BED_HTTP_PORT" || true)
bed_expect "sighup: the rules in use were kept (0x02)" \
    grep -q "rep=0x02" <<<"$out"
pid=$(bed_pid slow)
for _ in $(seq 60); do bed_alive "$pid" || break; sleep 1; done
bed_expect "sighup: the download open across both reloads completed" \
    bed_same_file "$f" "$T/out/slow"
bed_expect "every mpsocks-local still running" bash -c \
    "kill -0 $(bed_pid direct) $(bed_pid builtin) $(bed_pid reject) $(bed_pid geo) $(bed_pid pin) $(bed_pid hup)"
bed_finish
