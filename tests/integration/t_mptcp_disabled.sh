#!/bin/bash
# MPTCP switched off on the client (net.mptcp.enabled=0): mpsocks-local
# falls back to plain TCP and says so once; the concentrator's MPTCP
# listener accepts the TCP client and logs event=tcp_fallback; downloads
# are still byte-exact (over up1 only, since TCP has one path). The warning
# comes once, not once per connection.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
BED_CLI_MPTCP=0 bed_setup 20mbit 40mbit
cli_mptcp=$(bed_ns "$NS_CLI" sysctl -n net.mptcp.enabled)
say "client net.mptcp.enabled=$cli_mptcp"
f=$(bed_make_file f.bin 10)
bed_nginx_start
bed_server_start
bed_local_start

before=$(bed_uplink_rx)
res=$(bed_curl "$BED_TMP/out/f" --socks5-hostname \
    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url f.bin)") || say "curl failed"
after=$(bed_uplink_rx)
say "measured: download over TCP fallback: ${res:-none}; shares % (up1 up2): $(bed_shares "$before" "$after")"
bed_expect "download is byte-exact" bed_same_file "$f" "$BED_TMP/out/f"
# a second connection: the warning must not repeat per connection
res=$(bed_curl "$BED_TMP/out/f2" --socks5 "127.0.0.1:$BED_LOCAL_PORT" \
    "$(bed_url_ip f.bin)") || say "curl failed"
say "measured: second download: ${res:-none}"
bed_expect "second download is byte-exact" bed_same_file "$f" "$BED_TMP/out/f2"

# log lines look like "mpsocks-local: warn: ..." (or "warn: ..." alone)
warn_re='(^|: )warn: .*falling back to TCP'
n=$(grep -Ec "$warn_re" "$BED_TMP/local.log" || true)
say "measured: mpsocks-local logged 'falling back to TCP' at warn $n times:"
grep 'falling back to TCP' "$BED_TMP/local.log" | sed 's/^/  /' || true
bed_expect "mpsocks-local warned about the TCP fallback exactly once" \
    [ "$n" -eq 1 ]
say "server:"
grep 'event=tcp_fallback' "$BED_TMP/server.log" | sed 's/^/  /' || true
bed_expect "mpsocks-server logged event=tcp_fallback" \
    grep -q 'event=tcp_fallback' "$BED_TMP/server.log"

bed_finish
