#!/bin/bash
# shellcheck source-path=SCRIPTDIR disable=SC2119
# mpsocks demo (make demo): two shaped uplinks, 20 and 40 Mbit/s, between a
# "home" namespace and a "VPS" namespace; nginx behind the VPS. Downloads
# the same file over each uplink alone (plain TCP, the VPS routing), then
# bonded through mpsocks-local -> MPTCP -> mpsocks-server, and prints the
# rates and each uplink's share. About a minute; leaves nothing behind.
#
# Environment: DEMO_MB (default 30), DEMO_RATES (default "20mbit 40mbit").
set -eu
. "$(dirname "$0")/integration/lib.sh"

mb=${DEMO_MB:-30}
read -r -a rates <<<"${DEMO_RATES:-20mbit 40mbit}"

bed_require_base
bed_require_nginx
bed_require_daemons mpsocks-server
say "setting up the test bed..."
bed_setup "${rates[@]}"
bed_make_file demo.bin "$mb" >/dev/null
bed_nginx_start

declare -a single
for ((k = 1; k <= BED_UPLINKS; k++)); do
	say "downloading $mb MB over up$k alone (${rates[k - 1]})..."
	single[k]=$(bed_baseline "$k" demo.bin) ||
	    bed_fail "download over up$k alone failed"
done

bed_server_start -q
bed_local_start -q
say "downloading $mb MB bonded through mpsocks..."
before=$(bed_uplink_rx)
res=$(bed_curl "$BED_TMP/out/demo.bin" --socks5-hostname \
    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url demo.bin)") ||
    bed_fail "bonded download failed"
after=$(bed_uplink_rx)
read -r code _ bonded _ <<<"$res"
[ "$code" = 200 ] || bed_fail "bonded download: HTTP $code"
cmp -s "$BED_TMP/www/demo.bin" "$BED_TMP/out/demo.bin" ||
    bed_fail "bonded download is corrupt"
read -r -a share <<<"$(bed_shares "$before" "$after")"

sum=0
best=0
say ""
say "mpsocks demo: $mb MB HTTP download from nginx behind the concentrator"
say ""
printf '  %-26s %10s %10s\n' "path" "Mbit/s" "share"
for ((k = 1; k <= BED_UPLINKS; k++)); do
	printf '  %-26s %10s\n' "up$k alone (${rates[k - 1]})" \
	    "$(mbit "${single[k]}")"
	sum=$(calc "$sum + ${single[k]}")
	calc_true "${single[k]} > $best" && best=${single[k]}
done
printf '  %-26s %10s\n' "bonded via mpsocks" "$(mbit "$bonded")"
for ((k = 1; k <= BED_UPLINKS; k++)); do
	printf '  %-26s %10s %9.1f%%\n' "  carried by up$k" "" "${share[k - 1]}"
done
say ""
printf '  bonded = %.2f x the best single uplink, %.0f%% of the sum of the single uplinks\n' \
    "$(calc "$bonded / $best")" "$(calc "100 * $bonded / $sum")"
say "  (MPTCP's DSS option caps bonded goodput near 98% of that sum)"
