#!/bin/bash
# The test bed itself, without mpsocks: shaping gives each uplink close to
# its rate, the destination's nginx serves and accepts PUT, the name
# resolves in the concentrator, and kernel MPTCP between client and
# concentrator bonds both uplinks. If this fails, the other tests' results
# mean nothing.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_setup 20mbit 40mbit
f=$(bed_make_file t10.bin 10)
bed_nginx_start

# 1. single-uplink plain TCP goodput through the concentrator (IP forwarding)
rate1=$(bed_baseline 1 t10.bin)
rate2=$(bed_baseline 2 t10.bin)
say "measured: up1 (20mbit) TCP goodput $(mbit "$rate1") Mbit/s"
say "measured: up2 (40mbit) TCP goodput $(mbit "$rate2") Mbit/s"
# 1448 payload bytes per 1514-byte frame: 95.6% of the rate at best
bed_expect "up1 goodput >= 90% of 20 Mbit/s" calc_true "$rate1 * 8 >= 0.90 * 20e6"
bed_expect "up2 goodput >= 90% of 40 Mbit/s" calc_true "$rate2 * 8 >= 0.90 * 40e6"
bed_expect "up1 goodput <= 20 Mbit/s (shaped)" calc_true "$rate1 * 8 <= 20.4e6"
bed_expect "up2 goodput <= 40 Mbit/s (shaped)" calc_true "$rate2 * 8 <= 40.8e6"

# 2. the name resolves in the concentrator only
bed_expect "dst name resolves in srv" \
    bed_ns "$NS_SRV" getent hosts "$BED_DST_NAME"
bed_expect "dst name does not resolve in cli" \
    eval "! bed_ns '$NS_CLI' getent hosts '$BED_DST_NAME' >/dev/null"

# 3. PUT upload lands byte-exact (plain TCP, forwarded)
bed_forwarding on
bed_expect "PUT upload via nginx dav" \
    bed_curl /dev/null -T "$f" "$(bed_url_ip upload/put.bin)"
bed_forwarding off
bed_expect "uploaded file is byte-exact" bed_same_file "$f" \
    "$BED_TMP/www/upload/put.bin"

# 4. kernel MPTCP bonding between client and concentrator: the ceiling the
# daemons can reach
port=$((BED_SRV_PORT + 1))
bed_spawn sink "$NS_SRV" "$BED_TMP/mptcp-serve.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" serve-bytes --mptcp "$BED_PUB" "$port" \
    $((30 * 1048576))
bed_wait_port "$NS_SRV" "$port"
before=$(bed_uplink_rx)
res=$(bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" fetch --mptcp \
    "$BED_PUB" "$port")
after=$(bed_uplink_rx)
shares=$(bed_shares "$before" "$after")
say "measured: MPTCP 30 MB download: $res"
read -r _ _ bonded mp <<<"$res"
bonded=${bonded#rate_bps=}
say "measured: MPTCP bonded $(mbit "$bonded") Mbit/s, uplink shares % (up1 up2): $shares"
bed_expect "MPTCP connection really was MPTCP" [ "$mp" = mptcp=1 ]
# The bed's job is that both uplinks carry a subflow (the shares below).
# Beating the faster uplink is the sanity bound here; how far beyond it
# kernel MPTCP gets depends on the Python receiver's CPU on a shared
# machine (43.7 Mbit/s in one make check, 54-56 usually), so the 1.2 x
# goal is asserted only for mpsocks itself (t_bonded_transfer) and the
# ratios belong in make bench.
bed_expect "MPTCP bonded > up2 alone" calc_true "$bonded > $rate2"
read -r s1 s2 <<<"$shares"
bed_expect "each uplink carried >= 20%" calc_true "$s1 >= 20 && $s2 >= 20"

bed_finish
