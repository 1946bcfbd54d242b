# shellcheck shell=bash
#
# shadowsocks-libev (Debian's package) as a baseline: ss-server in the bed's
# concentrator namespace, ss-local in the client namespace, run "the way
# users run it today" (--mptcp at both ends). Sourced after
# tests/integration/lib.sh and after bed_setup.
#
# Interface, for any bench script:
#
#	ss_require		skip (exit 77, "SKIP: why") without ss-*
#	ss_start [flag|mptcpize]
#		flag (default): ss-server and ss-local with --mptcp.
#		mptcpize: the same, each under `mptcpize run`, which makes
#		every TCP socket of the process an IPPROTO_MPTCP one (what
#		--mptcp should do on an upstream kernel, see ss_mptcp_probe).
#		Sets SS_MODE, SS_PORT (ss-server on $BED_PUB), SS_LOCAL_PORT
#		(ss-local's SOCKS5 on 127.0.0.1 in $NS_CLI) and the PIDs
#		SS_PID_SERVER, SS_PID_LOCAL (for cpu_ticks, /proc/PID/status).
#		Logs: $BED_TMP/ss-server-MODE.log, ss-local-MODE.log.
#	ss_stop			stop both (by PID); ss_start may follow again
#	ss_curl OUT CURLARGS... URL
#		curl in $NS_CLI through ss-local (SOCKS5, name resolved by
#		ss-server); prints what bed_curl prints: "code size rate s".
#	ss_fetch FILE		download FILE (under the bed's web root, e.g.
#		bench.bin) to /dev/null through ss; prints bytes/s, fails
#		unless HTTP 200 and the whole file arrived.
#	ss_mptcp_probe		after ss_start: one small fetch, and the
#		MPTCP counters of both namespaces around it. Prints
#		"mptcp=yes|no syn_tx=N synack_rx=N syn_rx=N joins=N": yes
#		when ss-local's upstream connection sent MP_CAPABLE, got it
#		back and ss-server's listener took it as MPTCP.
#	ss_mptcpize_ok		true iff mptcpize is installed
#
# The cipher is chacha20-ietf-poly1305 (SS_CIPHER to change); port and
# password are random per run.

# shellcheck disable=SC2034	# set here, read by the bench scripts
SS_CIPHER=${SS_CIPHER:-chacha20-ietf-poly1305}
SS_MODE=
SS_PORT=
SS_LOCAL_PORT=
SS_PID_SERVER=
SS_PID_LOCAL=
SS_PASSWORD=

ss_require() {
	local t
	for t in ss-server ss-local nstat; do
		command -v "$t" >/dev/null 2>&1 ||
		    bed_skip "$t not installed (make deps installs shadowsocks-libev)"
	done
}

ss_mptcpize_ok() { command -v mptcpize >/dev/null 2>&1; }

# ss_conf FILE: the JSON config both ends read. A file, not -k on the
# command line, so the password is not in ps output.
ss_conf() {
	[ -n "$SS_PASSWORD" ] ||
	    SS_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')
	cat >"$1" <<EOF
{
	"server": "$BED_PUB",
	"server_port": $SS_PORT,
	"password": "$SS_PASSWORD",
	"method": "$SS_CIPHER",
	"timeout": 300,
	"mode": "tcp_only"
}
EOF
	chmod 600 "$1"
}

ss_start() {
	local mode=${1:-flag} conf=$BED_TMP/ss.json
	local -a wrap=()
	case $mode in
	flag) ;;
	mptcpize)
		ss_mptcpize_ok ||
		    bed_fail "mptcpize not installed (make deps installs it)"
		wrap=(mptcpize run)
		;;
	*) bed_fail "ss_start: mode $mode: flag or mptcpize" ;;
	esac
	SS_MODE=$mode
	SS_PORT=$((40000 + $(rand_u16) % 10000))
	SS_LOCAL_PORT=$((50000 + $(rand_u16) % 10000))
	ss_conf "$conf"
	# -a: no user switch; ss-server resolves names through the
	# namespace's /etc/hosts (bed_setup's /etc/netns entry).
	bed_spawn ss_server "$NS_SRV" "$BED_TMP/ss-server-$mode.log" \
	    "${wrap[@]}" ss-server -c "$conf" --mptcp --no-delay -v
	# local_address in the JSON would also bind ss-server's outgoing
	# connections to it: ss-local's address goes on its command line
	bed_spawn ss_local "$NS_CLI" "$BED_TMP/ss-local-$mode.log" \
	    "${wrap[@]}" ss-local -c "$conf" -b 127.0.0.1 -l "$SS_LOCAL_PORT" \
	    --mptcp --no-delay -v
	SS_PID_SERVER=$(bed_pid ss_server)
	SS_PID_LOCAL=$(bed_pid ss_local)
	bed_wait_port "$NS_SRV" "$SS_PORT" 10 ||
	    bed_fail "ss-server ($mode) did not start"
	bed_wait_port "$NS_CLI" "$SS_LOCAL_PORT" 10 ||
	    bed_fail "ss-local ($mode) did not start"
}

ss_stop() {
	bed_stop ss_local
	bed_stop ss_server
	SS_PID_SERVER=
	SS_PID_LOCAL=
}

ss_curl() {
	local out=$1
	shift
	bed_curl "$out" --socks5-hostname "127.0.0.1:$SS_LOCAL_PORT" "$@"
}

ss_fetch() {
	local file=$1 res code size rate want
	want=$(stat -c %s "$BED_TMP/www/$file")
	res=$(ss_curl /dev/null "$(bed_url "$file")") ||
	    { say "ss_fetch $file: curl failed: $res" >&2; return 1; }
	read -r code size rate _ <<<"$res"
	if [ "$code" != 200 ] || [ "$size" != "$want" ]; then
		say "ss_fetch $file: HTTP $code, $size of $want bytes" >&2
		return 1
	fi
	echo "$rate"
}

# ss_counter NS NAME: one nstat counter, absolute, history untouched
ss_counter() {
	bed_ns "$1" nstat -asz "$2" | awk -v n="$2" '$1 == n { print $2; f = 1 }
	    END { if (!f) print 0 }'
}

ss_mptcp_probe() {
	local f=ss-probe.html t0 a0 r0 j0 t1 a1 r1 j1 ok=no
	printf 'probe\n' >"$BED_TMP/www/$f"
	t0=$(ss_counter "$NS_CLI" MPTcpExtMPCapableSYNTX)
	a0=$(ss_counter "$NS_CLI" MPTcpExtMPCapableSYNACKRX)
	r0=$(ss_counter "$NS_SRV" MPTcpExtMPCapableSYNRX)
	j0=$(ss_counter "$NS_CLI" MPTcpExtMPJoinSynAckRX)
	ss_fetch "$f" >/dev/null || return 1
	# the join subflows start after the first data: give them a moment
	sleep 0.5
	t1=$(ss_counter "$NS_CLI" MPTcpExtMPCapableSYNTX)
	a1=$(ss_counter "$NS_CLI" MPTcpExtMPCapableSYNACKRX)
	r1=$(ss_counter "$NS_SRV" MPTcpExtMPCapableSYNRX)
	j1=$(ss_counter "$NS_CLI" MPTcpExtMPJoinSynAckRX)
	if [ $((t1 - t0)) -gt 0 ] && [ $((a1 - a0)) -gt 0 ] &&
	    [ $((r1 - r0)) -gt 0 ]; then
		ok=yes
	fi
	echo "mptcp=$ok syn_tx=$((t1 - t0)) synack_rx=$((a1 - a0))" \
	    "syn_rx=$((r1 - r0)) joins=$((j1 - j0))"
}
