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
# ss_bulk MODE CIPHER: the same downloads through the shadowsocks chain,
# rate and CPU of ss-local + ss-server into $BED_TMP/ss-MODE-CIPHER{,-cpu}
ss_bulk() {
	local mode=$1 tag="ss-$1-$2" c0 c1 rate
	SS_CIPHER=$2
	ss_start "$mode"
	ss_mptcp_probe >"$BED_TMP/ss-$mode-probe"
	for ((i = 0; i < RUNS; i++)); do
		c0=$(($(cpu_ticks "$SS_PID_SERVER") + $(cpu_ticks "$SS_PID_LOCAL")))
		rate=$(ss_fetch relay.bin) || bed_fail "ss ($mode) download"
		c1=$(($(cpu_ticks "$SS_PID_SERVER") + $(cpu_ticks "$SS_PID_LOCAL")))
		echo "$rate" >>"$BED_TMP/$tag"
		printf '%s\n' \
		    "$(calc "($c1 - $c0) / $HZ / ($MB * 1048576 / 1e9)")" \
		    >>"$BED_TMP/$tag-cpu"
	done
	ss_stop
}
# both AEAD ciphers shadowsocks users pick, against mpsocks's two TLS suites
ss_ciphers=(aes-256-gcm chacha20-ietf-poly1305)
ss_modes=(flag)
for c in "${ss_ciphers[@]}"; do
	ss_bulk flag "$c"
done
# Debian's --mptcp opens IPPROTO_MPTCP sockets on this kernel; should it
# ever fall back to TCP, measure what `mptcpize run` gives as well
# (BENCH_SS_MPTCPIZE=1: always)
if { [ "${BENCH_SS_MPTCPIZE:-0}" = 1 ] ||
    ! grep -q mptcp=yes "$BED_TMP/ss-flag-probe"; } && ss_mptcpize_ok; then
	ss_modes+=(mptcpize)
	for c in "${ss_ciphers[@]}"; do
		ss_bulk mptcpize "$c"
	done
fi

# mpsocks_bulk TAG "SERVER ARGS" "LOCAL ARGS": RUNS downloads through both
# daemons started with those arguments; rates into $BED_TMP/TAG, CPU-s/GB
# into TAG-cpu
mpsocks_bulk() {
	local tag=$1 c0 c1 res code size rate
	local -a sargs=() largs=()
	read -r -a sargs <<<"$2"
	read -r -a largs <<<"$3"
	bed_server_start -q "${sargs[@]}"
	bed_local_start -q "${largs[@]}"
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
mpsocks_bulk mpsocks-tls "" ""
grep -o 'tls=TLS_[A-Z0-9_]*' "$BED_TMP/server.log" | tail -n1 |
    cut -d= -f2 >"$BED_TMP/tls-suite"
printf '[server]\ntls_cipher = chacha20-poly1305\n' >"$BED_TMP/chacha.conf"
mpsocks_bulk mpsocks-tls-chacha "--config $BED_TMP/chacha.conf" \
    "--encryption tls"
mpsocks_bulk mpsocks-none "" "--encryption none"
mpsocks_bulk mpsocks-splice "--splice" "--encryption none --splice"

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
row() {	# LABEL TAG
	printf '| %s | %s | %.2f |\n' "$1" \
	    "$(gbit "$(median <"$BED_TMP/$2")")" "$(median <"$BED_TMP/$2-cpu")"
}
row "**mpsocks, encryption = tls** (the default; $(cat \
    "$BED_TMP/tls-suite"), curl via SOCKS5, nginx)" mpsocks-tls
row "mpsocks, encryption = tls, server preferring ChaCha20-Poly1305 (tls_cipher)" \
    mpsocks-tls-chacha
row "mpsocks, encryption = none (protocol v1, in clear)" mpsocks-none
row "mpsocks, encryption = none with --splice (experimental)" mpsocks-splice
for m in "${ss_modes[@]}"; do
	label="shadowsocks-libev, --mptcp at both ends"
	[ "$m" = flag ] || label="$label, under mptcpize run"
	for c in "${ss_ciphers[@]}"; do
		row "$label ($c)" "ss-$m-$c"
	done
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
