#!/bin/bash
# Relay efficiency: one bulk download through mpsocks-local and
# mpsocks-server on fast links (tbf at 10 Gbit/s, far above what the
# relays reach), Gbit/s and CPU seconds per GB for both daemons together,
# next to plain TCP and kernel MPTCP on the same links.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

MB=${BENCH_RELAY_MB:-1024}
HZ=$(getconf CLK_TCK)
bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 10gbit 10gbit >/dev/null
bed_make_file relay.bin "$MB" >/dev/null
bed_nginx_start

for ((i = 0; i < RUNS; i++)); do
	bed_baseline 1 relay.bin >>"$BED_TMP/tcp"
	mptcp_fetch_rate "$MB" >>"$BED_TMP/mptcp"
done
bed_server_start -q
bed_local_start -q
for ((i = 0; i < RUNS; i++)); do
	c0=$(($(cpu_ticks "$BED_PID_server") + $(cpu_ticks "$BED_PID_local")))
	res=$(bed_curl /dev/null --socks5-hostname \
	    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url relay.bin)")
	c1=$(($(cpu_ticks "$BED_PID_server") + $(cpu_ticks "$BED_PID_local")))
	read -r code size rate _ <<<"$res"
	[ "$code" = 200 ] || bed_fail "download: HTTP $code"
	echo "$rate" >>"$BED_TMP/mpsocks"
	calc "($c1 - $c0) / $HZ / ($size / 1e9)" >>"$BED_TMP/cpu"
done

gbit() { awk -v b="$1" 'BEGIN { printf "%.2f", b * 8 / 1e9 }'; }
echo "## Relay efficiency (one bulk download, fast links)"
echo
echo "$MB MB per transfer over uplinks shaped to 10 Gbit/s."
echo "CPU: user + system time of mpsocks-local and mpsocks-server together,"
echo "from /proc/PID/stat, per GB relayed."
echo
echo "| path | Gbit/s | CPU-s/GB (both daemons) |"
echo "|---|---:|---:|"
printf '| plain TCP, no proxy (curl, nginx) | %s | |\n' \
    "$(gbit "$(median <"$BED_TMP/tcp")")"
printf '| kernel MPTCP, no proxy (Python sender/receiver) | %s | |\n' \
    "$(gbit "$(median <"$BED_TMP/mptcp")")"
printf '| **mpsocks** (curl via SOCKS5, nginx) | **%s** | **%.2f** |\n' \
    "$(gbit "$(median <"$BED_TMP/mpsocks")")" "$(median <"$BED_TMP/cpu")"
