#!/bin/bash
# Aggregation: bulk download goodput over 20 + 40 Mbit/s uplinks through
# mpsocks, as a fraction of the sum of the single-uplink TCP goodputs, next
# to kernel MPTCP without a proxy. Equal (near-zero) delays: the delay
# emulator is not built yet.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

MB=${BENCH_MB:-30}
bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 40mbit >/dev/null
bed_make_file bench.bin "$MB" >/dev/null
bed_nginx_start

for ((i = 0; i < RUNS; i++)); do
	for k in 1 2; do
		bed_baseline "$k" bench.bin >>"$BED_TMP/up$k"
	done
	mptcp_fetch_rate "$MB" >>"$BED_TMP/mptcp"
done
bed_server_start -q
bed_local_start -q
for ((i = 0; i < RUNS; i++)); do
	res=$(bed_curl /dev/null --socks5-hostname \
	    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url bench.bin)")
	read -r code _ rate _ <<<"$res"
	[ "$code" = 200 ] || bed_fail "bonded download: HTTP $code"
	echo "$rate" >>"$BED_TMP/mpsocks"
done

up1=$(median <"$BED_TMP/up1")
up2=$(median <"$BED_TMP/up2")
mp=$(median <"$BED_TMP/mptcp")
ms=$(median <"$BED_TMP/mpsocks")
sum=$(calc "$up1 + $up2")

echo "## Aggregation (download, 20 + 40 Mbit/s, equal delays)"
echo
echo "$MB MB per transfer, tbf on both ends of each uplink."
echo
echo "| path | Mbit/s | fraction of the sum of single uplinks |"
echo "|---|---:|---:|"
printf '| uplink 1 alone, plain TCP | %s | |\n' "$(mbit "$up1")"
printf '| uplink 2 alone, plain TCP | %s | |\n' "$(mbit "$up2")"
printf '| kernel MPTCP, no proxy (Python sender/receiver) | %s | %.3f |\n' \
    "$(mbit "$mp")" "$(calc "$mp / $sum")"
printf '| **mpsocks** (curl via SOCKS5, nginx) | **%s** | **%.3f** |\n' \
    "$(mbit "$ms")" "$(calc "$ms / $sum")"
echo
echo "An MPTCP segment carries 1420 bytes of payload against 1448 for TCP,"
echo "so about 0.98 is the ceiling."
