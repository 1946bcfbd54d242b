#!/bin/bash
# Active probing of the concentrator with tunnel-probe: a request MAC'd with
# a wrong key, a replayed valid request, random garbage, and a valid
# request from a key the server does not know each get not one byte back
# and are closed; only the genuinely valid requests reach the destination
# (nginx's access log); the server still serves a normal transfer after.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons tunnel-probe
bed_setup 20mbit 40mbit
bed_nginx_start
bed_server_start

target=$BED_DST_IP:$BED_HTTP_PORT

# probe MODE KEYFILE: run tunnel-probe from the client namespace; prints
# its output, returns its status. The server closes bad handshakes after
# a moment of --handshake-timeout 2's last half, so 30 s is plenty.
probe() {
	local out rc=0 t0
	t0=$(date +%s.%N)
	out=$(timeout 30 ip netns exec "$NS_CLI" "$BED_BUILD/tunnel-probe" \
	    "$1" "$BED_PUB:$BED_SRV_PORT" "$2" "$target" 2>&1) || rc=$?
	probe_secs=$(calc "$(date +%s.%N) - $t0")
	say "measured: probe $1 ($(basename "$2")): exit $rc after ${probe_secs}s: ${out//$'\n'/ }"
	return "$rc"
}

# A bad handshake must not be told apart by when it ends: the server
# holds it like any slow client, to a moment drawn at accept from the
# last half of --handshake-timeout (2 s here: 1 to 2 s), whatever was
# sent (0.3 s of slack for scheduling).
held() {
	bed_expect "$1: held 1 to 2 s, as any pre-auth end" \
	    calc_true "$probe_secs >= 0.9 && $probe_secs <= 2.3"
}

access_lines() { wc -l <"$BED_TMP/access.log"; }

bed_expect "valid request succeeds" probe valid "$BED_KEY_CLI"
bed_expect "wrong MAC: 0 bytes, closed" probe wrongkey "$BED_KEY_CLI"
held "wrong MAC"
bed_expect "replayed request: 0 bytes, closed" probe replay "$BED_KEY_CLI"
held "replay"
bed_expect "4 KiB garbage: 0 bytes, closed" probe garbage "$BED_KEY_CLI"
held "garbage"
# a client whose key the server has never seen must fail like a bad MAC
bed_expect "unknown key: refused" eval "! probe valid '$BED_TMP/wrong.key'"
held "unknown key"

# valid + the first (genuine) half of replay reached nginx; nothing else
sleep 0.5	# nginx writes the access log line at request end
n=$(access_lines)
say "measured: nginx access log has $n lines after the probes (want 2):"
sed 's/^/  /' "$BED_TMP/access.log"
bed_expect "only the 2 valid requests reached the destination" [ "$n" -eq 2 ]

say "server log, auth failures:"
grep -E 'auth_fail|replay|bad_header|garbage' "$BED_TMP/server.log" |
    sed 's/^/  /' || say "  (none logged)"

# the concentrator still works for a normal client
bed_local_start
f=$(bed_make_file after.bin 5)
res=$(bed_curl "$BED_TMP/out/after" --socks5-hostname \
    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url after.bin)") || say "curl failed"
say "measured: transfer after probes: ${res:-none}"
bed_expect "transfer after probes is byte-exact" \
    bed_same_file "$f" "$BED_TMP/out/after"
bed_expect "server process still running" bed_alive "$(bed_pid server)"

bed_finish
