#!/bin/bash
# Bonded transfers through mpsocks over 20 + 40 Mbit/s uplinks:
#   - 50 MB download by name (--socks5-hostname: the concentrator resolves)
#   - 50 MB download by IP (--socks5)
#   - 20 MB PUT upload
# All byte-exact. The by-name download must use both uplinks (each >= 20%
# of the bytes the client received over its uplink interfaces during it)
# and beat 1.2 x the faster uplink alone.
#
# Baseline: plain TCP curl from the client to the same nginx over one
# uplink, with the concentrator briefly acting as an IP router (forwarding
# on; off again before mpsocks starts). That is what the user would get
# from the better line alone: same shaping, same path, same server, no
# proxy overhead, so the comparison flatters the baseline, not mpsocks.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 40mbit
big=$(bed_make_file big.bin 50)
bed_make_file base.bin 20 >/dev/null
upf=$BED_TMP/up.bin
head -c $((20 * 1048576)) /dev/urandom >"$upf"
bed_nginx_start

# --- single-uplink baselines (20 MB each, plain TCP) ---
rate1=$(bed_baseline 1 base.bin) || bed_fail "baseline over up1 failed"
rate2=$(bed_baseline 2 base.bin) || bed_fail "baseline over up2 failed"
say "measured: up1 alone (20mbit) $(mbit "$rate1") Mbit/s"
say "measured: up2 alone (40mbit) $(mbit "$rate2") Mbit/s"
faster=$rate2
calc_true "$rate1 > $rate2" && faster=$rate1

bed_server_start
bed_local_start
proxy=127.0.0.1:$BED_LOCAL_PORT

# --- 1. download by name ---
before=$(bed_uplink_rx)
res=$(bed_curl "$BED_TMP/out/dl-name" --socks5-hostname "$proxy" \
    "$(bed_url big.bin)") || say "curl failed: $?"
after=$(bed_uplink_rx)
read -r code size rate secs <<<"${res:-0 0 0 0}"
shares=$(bed_shares "$before" "$after")
say "measured: bonded download by name: HTTP $code, $size bytes in $secs s = $(mbit "$rate") Mbit/s ($(calc "$rate / $faster") x faster uplink, $(calc "$rate / ($rate1 + $rate2)") x sum)"
say "measured: uplink shares of the download, % (up1 up2): $shares"
bed_expect "download by name: HTTP 200" [ "$code" = 200 ]
bed_expect "download by name is byte-exact" \
    bed_same_file "$big" "$BED_TMP/out/dl-name"
bed_expect "bonded goodput > 1.2 x faster uplink alone" \
    calc_true "$rate > 1.2 * $faster"
read -r s1 s2 <<<"$shares"
bed_expect "up1 carried >= 20% of the download" calc_true "$s1 >= 20"
bed_expect "up2 carried >= 20% of the download" calc_true "$s2 >= 20"
rm -f "$BED_TMP/out/dl-name"

# --- 2. download by IP ---
before=$(bed_uplink_rx)
res=$(bed_curl "$BED_TMP/out/dl-ip" --socks5 "$proxy" \
    "$(bed_url_ip big.bin)") || say "curl failed: $?"
after=$(bed_uplink_rx)
read -r code size rate secs <<<"${res:-0 0 0 0}"
say "measured: bonded download by IP: HTTP $code, $(mbit "$rate") Mbit/s, shares % $(bed_shares "$before" "$after")"
bed_expect "download by IP: HTTP 200" [ "$code" = 200 ]
bed_expect "download by IP is byte-exact" \
    bed_same_file "$big" "$BED_TMP/out/dl-ip"
rm -f "$BED_TMP/out/dl-ip"

# --- 3. upload (PUT) ---
before=$(bed_uplink_tx)
res=$(bed_ns "$NS_CLI" curl -sS --max-time 120 -o /dev/null \
    -w '%{http_code} %{size_upload} %{speed_upload} %{time_total}\n' \
    --socks5-hostname "$proxy" -T "$upf" "$(bed_url upload/up.bin)") ||
    say "curl failed: $?"
after=$(bed_uplink_tx)
read -r code size rate secs <<<"${res:-0 0 0 0}"
say "measured: bonded upload: HTTP $code, $size bytes in $secs s = $(mbit "$rate") Mbit/s, shares % $(bed_shares "$before" "$after")"
bed_expect "upload: HTTP 201" [ "$code" = 201 ]
bed_expect "upload is byte-exact" \
    bed_same_file "$upf" "$BED_TMP/www/upload/up.bin"

bed_expect "no connection fell back to TCP" \
    eval "! grep -q event=tcp_fallback '$BED_TMP/server.log'"
say "server close lines:"
grep 'event=close' "$BED_TMP/server.log" | sed 's/^/  /' || true
bed_finish
