#!/bin/bash
# SOCKS4 and SOCKS4a on the same port as SOCKS5 (the first byte picks the
# protocol), with real curl: downloads by name (4a: resolved by the
# concentrator) and by address are byte-exact; a refused destination is
# answered 91 (--strict-replies; by default the app hears 90 at once and
# is reset: t_pool checks that for SOCKS5); with users configured, SOCKS4 (which has no password) is
# refused and nothing reaches the destination.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 40mbit
f=$(bed_make_file s4.bin 5)
bed_nginx_start
bed_server_start
bed_local_start --strict-replies
proxy=127.0.0.1:$BED_LOCAL_PORT

res=$(bed_curl "$BED_TMP/out/s4a" --socks4a "$proxy" "$(bed_url s4.bin)") ||
    say "curl --socks4a failed: $?"
say "measured: socks4a by name: $res"
bed_expect "socks4a download by name is byte-exact" \
    bed_same_file "$f" "$BED_TMP/out/s4a"

res=$(bed_curl "$BED_TMP/out/s4" --socks4 "$proxy" "$(bed_url_ip s4.bin)") ||
    say "curl --socks4 failed: $?"
say "measured: socks4 by address: $res"
bed_expect "socks4 download by address is byte-exact" \
    bed_same_file "$f" "$BED_TMP/out/s4"

# nothing listens on this port of the destination
rc=0
out=$(bed_ns "$NS_CLI" curl -sS --max-time 20 -o /dev/null --socks4 "$proxy" \
    "http://$BED_DST_IP:$((BED_HTTP_PORT + 1))/" 2>&1) || rc=$?
say "measured: socks4 to a closed port: exit $rc: $out"
bed_expect "refused destination answered 91" \
    eval "[ $rc -eq 97 ] && echo \"\$out\" | grep -q '(91)'"

# with users, SOCKS4 cannot authenticate: refused, and never relayed
bed_stop local
requests=$(wc -l <"$BED_TMP/access.log")
bed_local_start --user alice:secret
rc=0
out=$(bed_ns "$NS_CLI" curl -sS --max-time 20 -o /dev/null --socks4a \
    "$proxy" "$(bed_url s4.bin)" 2>&1) || rc=$?
say "measured: socks4a with users configured: exit $rc: $out"
bed_expect "socks4 refused when users are required" \
    eval "[ $rc -eq 97 ] && echo \"\$out\" | grep -q '(91)'"
bed_expect "no request reached nginx" \
    eval "[ \"\$(wc -l <'$BED_TMP/access.log')\" -eq $requests ]"
bed_finish
