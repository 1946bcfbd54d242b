#!/bin/bash
# Relay efficiency: one bulk download through mpsocks-local and
# mpsocks-server on fast links (tbf at 10 Gbit/s, far above what the
# relays reach), Gbit/s and CPU seconds per GB for both daemons together,
# next to plain TCP, kernel MPTCP and the shadowsocks-libev chain (ss-local
# + ss-server with --mptcp, tests/bench/sslib.sh) on the same links.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sslib.sh"

MB=${BENCH_RELAY_MB:-1024}
HZ=$(getconf CLK_TCK)
bed_require_base
bed_require_nginx
bed_require_daemons
ss_require
bed_setup 10gbit 10gbit >/dev/null
bed_make_file relay.bin "$MB" >/dev/null
bed_nginx_start

for ((i = 0; i < RUNS; i++)); do
	bed_baseline 1 relay.bin >>"$BED_TMP/tcp"
	mptcp_fetch_rate "$MB" >>"$BED_TMP/mptcp"
done
# ss_bulk MODE: the same downloads through the shadowsocks chain, rate and
# CPU of ss-local + ss-server into $BED_TMP/ss-MODE, ss-MODE-cpu
ss_bulk() {
	local mode=$1 c0 c1 rate
	ss_start "$mode"
	ss_mptcp_probe >"$BED_TMP/ss-$mode-probe"
	for ((i = 0; i < RUNS; i++)); do
		c0=$(($(cpu_ticks "$SS_PID_SERVER") + $(cpu_ticks "$SS_PID_LOCAL")))
		rate=$(ss_fetch relay.bin) || bed_fail "ss ($mode) download"
		c1=$(($(cpu_ticks "$SS_PID_SERVER") + $(cpu_ticks "$SS_PID_LOCAL")))
		echo "$rate" >>"$BED_TMP/ss-$mode"
		printf '%s\n' \
		    "$(calc "($c1 - $c0) / $HZ / ($MB * 1048576 / 1e9)")" \
		    >>"$BED_TMP/ss-$mode-cpu"
	done
	ss_stop
}
ss_modes=(flag)
ss_bulk flag
# Debian's --mptcp opens IPPROTO_MPTCP sockets on this kernel; should it
# ever fall back to TCP, measure what `mptcpize run` gives as well
# (BENCH_SS_MPTCPIZE=1: always)
if { [ "${BENCH_SS_MPTCPIZE:-0}" = 1 ] ||
    ! grep -q mptcp=yes "$BED_TMP/ss-flag-probe"; } && ss_mptcpize_ok; then
	ss_modes+=(mptcpize)
	ss_bulk mptcpize
fi

# mpsocks_bulk TAG [DAEMON ARGS]: RUNS downloads through both daemons
# started with ARGS; rates into $BED_TMP/TAG, CPU-s/GB into TAG-cpu
mpsocks_bulk() {
	local tag=$1 c0 c1 res code size rate
	shift
	bed_server_start -q "$@"
	bed_local_start -q "$@"
	for ((i = 0; i < RUNS; i++)); do
		c0=$(($(cpu_ticks "$BED_PID_server") + $(cpu_ticks "$BED_PID_local")))
		res=$(bed_curl /dev/null --socks5-hostname \
		    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url relay.bin)")
		c1=$(($(cpu_ticks "$BED_PID_server") + $(cpu_ticks "$BED_PID_local")))
		read -r code size rate _ <<<"$res"
		[ "$code" = 200 ] || bed_fail "download ($tag): HTTP $code"
		echo "$rate" >>"$BED_TMP/$tag"
		# calc prints no newline: one figure per line for median
		printf '%s\n' "$(calc "($c1 - $c0) / $HZ / ($size / 1e9)")" \
		    >>"$BED_TMP/$tag-cpu"
	done
	bed_stop local
	bed_stop server
}
mpsocks_bulk mpsocks
mpsocks_bulk mpsocks-splice --splice

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
    "$(gbit "$(median <"$BED_TMP/mpsocks")")" \
    "$(median <"$BED_TMP/mpsocks-cpu")"
printf '| mpsocks with --splice (experimental, off by default) | %s | %.2f |\n' \
    "$(gbit "$(median <"$BED_TMP/mpsocks-splice")")" \
    "$(median <"$BED_TMP/mpsocks-splice-cpu")"
for m in "${ss_modes[@]}"; do
	label="shadowsocks-libev, --mptcp at both ends"
	[ "$m" = flag ] || label="$label, under mptcpize run"
	printf '| %s (%s) | %s | %.2f |\n' "$label" "$SS_CIPHER" \
	    "$(gbit "$(median <"$BED_TMP/ss-$m")")" \
	    "$(median <"$BED_TMP/ss-$m-cpu")"
done
echo
for m in "${ss_modes[@]}"; do
	read -r ok st sa sr _ <<<"$(cat "$BED_TMP/ss-$m-probe")"
	if [ "$ok" = mptcp=yes ]; then
		echo "shadowsocks ($m): kernel MPTCP confirmed: ss-local's upstream"
		echo "connection sent MP_CAPABLE and got it back, ss-server's listener"
		echo "took it as MPTCP (nstat MPTcpExt counters in both namespaces:"
		echo "$st $sa $sr)."
	else
		echo "shadowsocks ($m): **NOT kernel MPTCP**: it fell back to plain"
		echo "TCP ($st $sa $sr in the nstat MPTcpExt counters)."
	fi
done
echo "CPU for shadowsocks: ss-local + ss-server, measured the same way."
