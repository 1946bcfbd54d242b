# shellcheck shell=bash
#
# Test bed for mpsocks integration tests and the demo. Source it, then:
#
#	bed_require_base; bed_require_daemons
#	bed_setup 20mbit 40mbit		# one rate per uplink
#	bed_make_file big.bin 50
#	bed_nginx_start
#	bed_server_start; bed_local_start
#	... curl through 127.0.0.1:$BED_LOCAL_PORT in "$NS_CLI" ...
#	bed_finish			# exit 0 or 1 from the bed_expect results
#
# Topology (B is a random second octet, chosen per run):
#
#   $id-cli                         $id-srv                       $id-dst
#   up1 10.B.1.2/24 ==tbf== up1 10.B.1.1/24
#   up2 10.B.2.2/24 ==tbf== up2 10.B.2.1/24    to-dst 10.B.30.1 --- to-srv 10.B.30.2
#   ...                          lo 10.B.100.1/32 ("public", the VPS)    nginx
#
# Each uplink is a veth pair shaped with tbf on both ends (cli egress shapes
# the upload, srv egress the download). The client's main table routes via
# up1; each further uplink k has table 100+k, "ip rule from 10.B.k.2", and an
# MPTCP "subflow" endpoint, so the kernel opens one join subflow per uplink.
#
# Safety: only 10.x addresses; every interface is created inside a namespace
# of this run (nothing appears in the root namespace); namespaces, the
# /etc/netns entries, the temp dir and every process we started are removed
# by the EXIT trap, also on failure or timeout. Processes are stopped by PID.
#
# Exit codes of the tests: 0 pass, 1 fail, 77 skip (with "SKIP: why").

BED_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BED_REPO=$(cd "$BED_LIB_DIR/../.." && pwd)
BED_BUILD=${MPSOCKS_BUILD:-$BED_REPO/build}
PY=/usr/bin/python3		# not a pyenv shim: CI has only Debian's

# tbf parameters (see bed_shape for why these values)
BED_TBF_LATENCY=${BED_TBF_LATENCY:-25ms}

BED_PIDS=()			# every background process we started
BED_PID_NAMES=()		# parallel to BED_PIDS, for logs
BED_FAILED=0
BED_ID=
BED_TMP=

say() { printf '%s\n' "$*"; }

bed_skip() {
	say "SKIP: $*"
	exit 77
}

bed_fail() {
	say "FAIL: $*" >&2
	exit 1
}

# bed_expect DESCRIPTION COMMAND...: run COMMAND, record the result, go on,
# so one run reports every check. bed_finish turns the record into the exit.
bed_expect() {
	local desc=$1
	shift
	if "$@"; then
		say "ok: $desc"
	else
		say "NOT OK: $desc"
		BED_FAILED=1
	fi
}

bed_finish() {
	if [ "$BED_FAILED" -ne 0 ]; then
		say "result: FAIL"
		exit 1
	fi
	say "result: PASS"
	exit 0
}

# --- prerequisites -----------------------------------------------------------

bed_require_base() {
	[ "$(id -u)" -eq 0 ] || bed_skip "not root (namespaces need CAP_NET_ADMIN)"
	local t
	for t in ip tc ss curl sha256sum timeout od awk; do
		command -v "$t" >/dev/null 2>&1 || bed_skip "$t not installed"
	done
	[ -x "$PY" ] || bed_skip "$PY not installed"
	ip mptcp endpoint show >/dev/null 2>&1 ||
	    bed_skip "no MPTCP (ip mptcp endpoint show failed)"
	[ "$(cat /proc/sys/net/mptcp/enabled 2>/dev/null)" = 1 ] ||
	    bed_skip "net.mptcp.enabled is not 1 in the root namespace"
	# a throw-away namespace tells whether netns, veth and tbf work
	local probe="mpsprobe$$"
	if ! ip netns add "$probe" 2>/dev/null; then
		bed_skip "cannot create network namespaces"
	fi
	local ok=1
	ip -n "$probe" link add v0 type veth peer name v1 2>/dev/null || ok=0
	[ $ok = 0 ] || tc -n "$probe" qdisc add dev v0 root tbf rate 1mbit \
	    burst 16k latency 10ms 2>/dev/null || ok=2
	ip netns del "$probe"
	[ $ok != 0 ] || bed_skip "veth not available"
	[ $ok != 2 ] || bed_skip "tc tbf not available"
}

bed_require_nginx() {
	command -v nginx >/dev/null 2>&1 ||
	    bed_skip "nginx not installed (make deps installs nginx-light)"
	nginx -V 2>&1 | grep -q http_dav_module ||
	    bed_skip "nginx lacks the dav module (PUT uploads)"
}

# bed_require_daemons [extra binary...]: the build must exist.
bed_require_daemons() {
	local b
	for b in mpsocks-server mpsocks-local "$@"; do
		[ -x "$BED_BUILD/$b" ] ||
		    bed_skip "$BED_BUILD/$b not built (run make all)"
	done
}

# --- small helpers -------------------------------------------------------------

rand_u16() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }

# bed_ns NS CMD...: run CMD in namespace NS. "ip netns exec" (not nsenter) so
# that /etc/netns/NS/{hosts,resolv.conf} are bind-mounted over /etc.
bed_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Floating-point helpers through awk (bash has integers only).
calc() { awk "BEGIN { printf \"%.6g\", ($*) }"; }
# true iff the awk expression holds
calc_true() { awk "BEGIN { exit !($*) }"; }
mbit() { awk -v b="$1" 'BEGIN { printf "%.2f", b * 8 / 1e6 }'; }

# bed_if_bytes NS IF rx|tx: interface byte counter
bed_if_bytes() {
	bed_ns "$1" cat "/sys/class/net/$2/statistics/$3_bytes"
}

# bed_uplink_rx: "rx1 rx2 ..." bytes received by the client on each uplink
bed_uplink_rx() {
	local k out=
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		out="$out $(bed_if_bytes "$NS_CLI" "up$k" rx)"
	done
	echo "${out# }"
}

bed_uplink_tx() {
	local k out=
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		out="$out $(bed_if_bytes "$NS_CLI" "up$k" tx)"
	done
	echo "${out# }"
}

# bed_shares "before" "after": each uplink's share, in percent, of the
# bytes counted between two bed_uplink_rx/tx readings; prints "s1 s2 ...".
bed_shares() {
	local -a a b
	local k total=0 out=
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	for ((k = 0; k < ${#a[@]}; k++)); do
		total=$((total + b[k] - a[k]))
	done
	for ((k = 0; k < ${#a[@]}; k++)); do
		out="$out $(calc "$total > 0 ? 100 * (${b[k]} - ${a[k]}) / $total : 0")"
	done
	echo "${out# }"
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# bed_same_file A B: byte-exact comparison, says what differs
bed_same_file() {
	local a b
	[ -f "$2" ] || { say "  $2 missing"; return 1; }
	a=$(sha_of "$1")
	b=$(sha_of "$2")
	say "  sha256 $(basename "$1")=${a:0:16}... $(basename "$2")=${b:0:16}... sizes $(stat -c %s "$1")/$(stat -c %s "$2")"
	[ "$a" = "$b" ]
}

# bed_wait_port NS PORT [SECONDS]: wait until something listens on TCP PORT
bed_wait_port() {
	local ns=$1 port=$2 limit=${3:-10} i
	for ((i = 0; i < limit * 10; i++)); do
		if [ -n "$(bed_ns "$ns" ss -Hltn "sport = :$port")" ]; then
			return 0
		fi
		sleep 0.1
	done
	say "nothing listens on port $port in $ns after ${limit}s"
	return 1
}

# bed_spawn NAME NS LOGFILE CMD...: start CMD in NS in the background, track
# its PID. "ip netns exec" execs CMD, so $! is CMD's own PID.
bed_spawn() {
	local name=$1 ns=$2 log=$3
	shift 3
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	BED_PIDS+=($!)
	BED_PID_NAMES+=("$name")
	eval "BED_PID_$name=$!"
}

bed_alive() { kill -0 "$1" 2>/dev/null; }

# bed_pid NAME: the PID bed_spawn recorded for NAME
bed_pid() { eval "echo \${BED_PID_$1-}"; }

# bed_stop NAME: TERM, wait up to 5 s, then KILL. Only our own PID.
bed_stop() {
	local pid
	eval "pid=\${BED_PID_$1-}"
	[ -n "$pid" ] || return 0
	bed_stop_pid "$pid"
	eval "BED_PID_$1="
}

# bed_forget_pid PID: drop PID from the bed's list once we have reaped it, so
# the exit trap never signals a PID that may have been reused
bed_forget_pid() {
	local -a pids=() names=()
	local i
	for i in "${!BED_PIDS[@]}"; do
		[ "${BED_PIDS[i]}" = "$1" ] && continue
		pids+=("${BED_PIDS[i]}")
		names+=("${BED_PID_NAMES[i]}")
	done
	BED_PIDS=("${pids[@]}")
	BED_PID_NAMES=("${names[@]}")
}

# bed_term_status NAME: SIGTERM, wait up to 30 s (the leak check runs at exit),
# set term_rc to the exit status ("hung" if it had to be killed). Not in a
# $(subshell): only this shell can wait for its children.
bed_term_status() {
	local pid rc=0 i
	pid=$(bed_pid "$1")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		bed_alive "$pid" || break
		sleep 0.1
	done
	if bed_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rc=hung
	else
		wait "$pid" 2>/dev/null || rc=$?
	fi
	eval "BED_PID_$1="
	bed_forget_pid "$pid"
	term_rc=$rc
}

# bed_addrs_settled: up to 5 s for IPv6 duplicate address detection on
# the client's new links to end. Chromium drops a load with
# ERR_NETWORK_CHANGED when an address changes meanwhile.
bed_addrs_settled() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -z "$(ip -n "$NS_CLI" -6 addr show tentative)" ] && return 0
		sleep 0.1
	done
	return 0
}

bed_stop_pid() {
	local pid=$1 i
	bed_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		bed_alive "$pid" || break
		sleep 0.1
	done
	bed_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# --- setup and teardown --------------------------------------------------------

bed_cleanup() {
	local rc=$? i pid ns
	set +e
	trap - EXIT
	for ((i = ${#BED_PIDS[@]} - 1; i >= 0; i--)); do
		bed_stop_pid "${BED_PIDS[i]}"
	done
	if [ -n "$BED_ID" ]; then
		# Anything still running inside our namespaces was started by
		# this run (curl, python helpers): stop it by PID before the
		# namespace goes, or it would linger detached from any netns.
		for ns in "$NS_CLI" "$NS_SRV" "$NS_DST" "$NS_MID"; do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
			done
		done
		for ns in "$NS_CLI" "$NS_SRV" "$NS_DST" "$NS_MID"; do
			ip netns del "$ns" 2>/dev/null
			rm -rf "/etc/netns/$ns"
		done
		rmdir /etc/netns 2>/dev/null	# only if no one else uses it
	fi
	if [ -n "$BED_TMP" ] && [ -d "$BED_TMP" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			for f in "$BED_TMP"/*.log; do
				[ -s "$f" ] || continue
				say "----- tail of $(basename "$f") -----"
				tail -n 25 "$f"
			done
		fi
		if [ -n "${BED_LOGDIR-}" ]; then
			mkdir -p "$BED_LOGDIR"
			cp "$BED_TMP"/*.log "$BED_TMP"/*.conf "$BED_LOGDIR"/ \
			    2>/dev/null
		fi
		rm -rf "$BED_TMP"
	fi
	exit "$rc"
}

# bed_setup SPEC...: build the three namespaces, one uplink per SPEC:
#
#	[NAME=]RATE[/DELAY[/LOSS]]	e.g. 20mbit  dsl=20mbit/15ms/0%
#					     lte=10mbit:40mbit/35ms/0.5%
#
# RATE is tc syntax, DELAY one-way (ms), LOSS per direction (%); each may be
# UP:DOWN (upload = client to concentrator). Defaults: 20mbit 40mbit, no
# delay, no loss. An uplink with delay or loss, or any uplink when
# BED_LINKEM=1 (for bed_cut), runs through tests/tools/linkem in a middle
# namespace $id-mid. Sets BED_NAME_k, BED_RATE_k (download rate),
# BED_RATE_UP_k, BED_DELAY_k/BED_DELAY_UP_k (ms), BED_LOSS_k/BED_LOSS_UP_k.
# Environment: BED_CLI_MPTCP=0 sets net.mptcp.enabled=0 in the client.
# BED_BARE=1: the client gets only addresses and a default route per
# uplink (metric 100 x k), no tables, rules, endpoints or limits: what
# mpsocks-local's [uplink] sections must set up themselves.
bed_setup() {
	local -a rates=("$@")
	[ ${#rates[@]} -gt 0 ] || rates=(20mbit 40mbit)
	BED_UPLINKS=${#rates[@]}
	[ "$BED_UPLINKS" -le 20 ] || bed_fail "at most 20 uplinks"
	local k
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		bed_parse_spec "$k" "${rates[k - 1]}"
	done

	# Per-run names: pid in hex plus 8 random bits, e.g. mp1a2b3c7f. The
	# veth names live only inside the namespaces, so they need no
	# prefix; the namespaces (global) carry the id.
	BED_ID=$(printf 'mp%x%02x' $$ $(($(rand_u16) % 256)))
	NS_CLI=$BED_ID-cli
	NS_SRV=$BED_ID-srv
	NS_DST=$BED_ID-dst
	NS_MID=$BED_ID-mid
	# random second octet: 10.16.x.x .. 10.250.x.x
	BED_B=$((16 + $(rand_u16) % 235))
	local B=$BED_B
	BED_PUB=10.$B.100.1		# the concentrator's public address
	BED_DST_IP=10.$B.30.2
	BED_DST_NET=10.$B.30.0/24
	BED_DST_NAME=dst.$BED_ID.test
	BED_HTTP_PORT=$((8000 + $(rand_u16) % 1000))
	BED_SRV_PORT=$((20000 + $(rand_u16) % 10000))
	BED_LOCAL_PORT=$((30000 + $(rand_u16) % 10000))

	trap bed_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP

	BED_TMP=$(mktemp -d "/tmp/mpsocks-$BED_ID.XXXXXX")
	mkdir -p "$BED_TMP/www/upload" "$BED_TMP/nginx-tmp" "$BED_TMP/out"

	local ns
	for ns in "$NS_CLI" "$NS_SRV" "$NS_DST"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		# rp_filter=1 drops join subflows arriving on a "wrong"
		# interface; set before any interface exists so "default"
		# applies to them all.
		bed_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		    net.ipv4.conf.default.rp_filter=0
	done

	# hosts/resolv.conf seen by processes started with "ip netns exec":
	# the concentrator resolves dst.$id.test; nothing ever asks a real
	# resolver from inside the bed.
	for ns in "$NS_CLI" "$NS_SRV" "$NS_DST"; do
		mkdir -p "/etc/netns/$ns"
		printf 'nameserver 127.0.0.1\n' >"/etc/netns/$ns/resolv.conf"
		printf '127.0.0.1\tlocalhost\n' >"/etc/netns/$ns/hosts"
	done
	printf '%s\t%s\n' "$BED_DST_IP" "$BED_DST_NAME" \
	    >>"/etc/netns/$NS_SRV/hosts"

	# the VPS's public address, reachable over every uplink
	ip -n "$NS_SRV" addr add "$BED_PUB/32" dev lo

	for ((k = 1; k <= BED_UPLINKS; k++)); do
		bed_link "$k"
		bed_shape "$NS_CLI" "up$k" "$(bed_var RATE_UP "$k")"
		bed_shape "$NS_SRV" "up$k" "$(bed_var RATE "$k")"
		if [ "${BED_BARE:-0}" = 1 ]; then
			# as an OS leaves it: a default route per uplink,
			# the first preferred (DHCP-style metrics)
			ip -n "$NS_CLI" route add default via "10.$B.$k.1" \
			    dev "up$k" metric $((100 * k))
		elif [ "$k" -eq 1 ]; then
			ip -n "$NS_CLI" route add default via "10.$B.1.1" \
			    dev up1
		else
			ip -n "$NS_CLI" route add default via "10.$B.$k.1" \
			    dev "up$k" table $((100 + k))
			ip -n "$NS_CLI" route add "10.$B.$k.0/24" dev "up$k" \
			    table $((100 + k))
			ip -n "$NS_CLI" rule add from "10.$B.$k.2" \
			    table $((100 + k))
			ip -n "$NS_CLI" mptcp endpoint add "10.$B.$k.2" \
			    dev "up$k" subflow
		fi
	done
	for ns in "$NS_CLI" "$NS_SRV"; do
		[ "${BED_BARE:-0}" = 1 ] && [ "$ns" = "$NS_CLI" ] ||
		    ip -n "$ns" mptcp limits set subflows 8 add_addr_accepted 8
		# the daemons use TCP Fast Open on the tunnel (client and server)
		bed_ns "$ns" sysctl -qw net.ipv4.tcp_fastopen=3
	done
	if [ "${BED_CLI_MPTCP:-1}" = 0 ]; then
		bed_ns "$NS_CLI" sysctl -qw net.mptcp.enabled=0
	fi

	# concentrator <-> destination, unshaped
	ip -n "$NS_SRV" link add to-dst type veth peer name to-srv \
	    netns "$NS_DST"
	ip -n "$NS_SRV" addr add "10.$B.30.1/24" dev to-dst
	ip -n "$NS_DST" addr add "$BED_DST_IP/24" dev to-srv
	ip -n "$NS_SRV" link set to-dst up
	ip -n "$NS_DST" link set to-srv up
	ip -n "$NS_DST" route add default via "10.$B.30.1"

	bed_linkem_start
	say "bed: id=$BED_ID uplinks=${rates[*]} public=$BED_PUB dst=$BED_DST_IP ($BED_DST_NAME:$BED_HTTP_PORT) tmp=$BED_TMP"
}

# bed_var NAME K: the value of BED_NAME_K
bed_var() { eval "echo \${BED_$1_$2-}"; }

# bed_parse_spec K SPEC: the BED_*_K variables of one uplink (see bed_setup)
bed_parse_spec() {
	local k=$1 spec=$2 name rate delay loss
	name=up$k
	if [[ $spec == *=* ]]; then
		name=${spec%%=*}
		spec=${spec#*=}
	fi
	[[ $name =~ ^[a-z][a-z0-9]{0,14}$ ]] ||
	    bed_fail "uplink $k: name \"$name\": use a-z0-9, at most 15"
	IFS=/ read -r rate delay loss <<<"$spec"
	rate=${rate:-20mbit} delay=${delay:-0ms} loss=${loss:-0%}
	local rup=${rate%%:*} rdown=${rate#*:}
	local dup=${delay%%:*} ddown=${delay#*:}
	local lup=${loss%%:*} ldown=${loss#*:}
	tc_rate_bits "$rup" >/dev/null
	tc_rate_bits "$rdown" >/dev/null
	local v
	for v in "$dup" "$ddown"; do
		[[ $v =~ ^[0-9]+(\.[0-9]+)?ms$ ]] ||
		    bed_fail "uplink $k: delay \"$v\": use Nms"
	done
	for v in "$lup" "$ldown"; do
		[[ $v =~ ^[0-9]+(\.[0-9]+)?%$ ]] &&
		    calc_true "${v%\%} <= 100" ||
		    bed_fail "uplink $k: loss \"$v\": use N% (0..100)"
	done
	eval "BED_NAME_$k=$name BED_RATE_$k=$rdown BED_RATE_UP_$k=$rup"
	eval "BED_DELAY_$k=${ddown%ms} BED_DELAY_UP_$k=${dup%ms}"
	eval "BED_LOSS_$k=${ldown%\%} BED_LOSS_UP_$k=${lup%\%}"
}

# bed_emulated K: does uplink K run through linkem?
bed_emulated() {
	[ "${BED_LINKEM:-0}" = 1 ] && return 0
	local v
	for v in DELAY DELAY_UP LOSS LOSS_UP; do
		calc_true "$(bed_var "$v" "$1") > 0" && return 0
	done
	return 1
}

# bed_link K: uplink K's wire, up$k in the client and in the concentrator
# with 10.B.K.2/24 and 10.B.K.1/24: one veth pair, or two with linkem's
# a$k and b$k between them in $id-mid.
bed_link() {
	local k=$1 B=$BED_B
	if ! bed_emulated "$k"; then
		ip -n "$NS_CLI" link add "up$k" type veth peer name "up$k" \
		    netns "$NS_SRV"
	else
		if ! ip netns list | grep -q "^$NS_MID\b"; then
			ip netns add "$NS_MID"
			ip -n "$NS_MID" link set lo up
			# the middle only moves frames: no IPv6 chatter of
			# its own (set before any link exists)
			bed_ns "$NS_MID" sysctl -qw \
			    net.ipv6.conf.all.disable_ipv6=1 \
			    net.ipv6.conf.default.disable_ipv6=1
		fi
		ip -n "$NS_CLI" link add "up$k" type veth peer name "a$k" \
		    netns "$NS_MID"
		ip -n "$NS_SRV" link add "up$k" type veth peer name "b$k" \
		    netns "$NS_MID"
		ip -n "$NS_MID" link set "a$k" up
		ip -n "$NS_MID" link set "b$k" up
	fi
	ip -n "$NS_CLI" addr add "10.$B.$k.2/24" dev "up$k"
	ip -n "$NS_SRV" addr add "10.$B.$k.1/24" dev "up$k"
	ip -n "$NS_CLI" link set "up$k" up
	ip -n "$NS_SRV" link set "up$k" up
	if bed_emulated "$k"; then
		# fixed neighbours: loss and cuts fall on our traffic, never
		# on ARP, and a long cut cannot expire an entry
		ip -n "$NS_CLI" neigh replace "10.$B.$k.1" dev "up$k" \
		    nud permanent lladdr \
		    "$(bed_ns "$NS_SRV" cat "/sys/class/net/up$k/address")"
		ip -n "$NS_SRV" neigh replace "10.$B.$k.2" dev "up$k" \
		    nud permanent lladdr \
		    "$(bed_ns "$NS_CLI" cat "/sys/class/net/up$k/address")"
	fi
}

# bed_linkem_start: one linkem per emulated uplink (a = client side)
bed_linkem_start() {
	local k i log bin=$BED_BUILD/linkem
	# linkem is the bed, not a daemon under test: with the sanitizer
	# daemons (MPSOCKS_BUILD=build/asan) it comes from the plain build
	[ -x "$bin" ] || bin=$BED_REPO/build/linkem
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		bed_emulated "$k" || continue
		[ -x "$bin" ] ||
		    bed_fail "$bin not built (make build/linkem)"
		log=$BED_TMP/linkem$k.log
		# a wire does not wait for a CPU: real-time priority keeps
		# the delay exact while tests and daemons load the machine
		bed_spawn "linkem$k" "$NS_MID" "$log" chrt -f 10 "$bin" \
		    "a$k" "b$k" --delay-ab "$(bed_var DELAY_UP "$k")" \
		    --delay-ba "$(bed_var DELAY "$k")" \
		    --loss-ab "$(bed_var LOSS_UP "$k")" \
		    --loss-ba "$(bed_var LOSS "$k")" ${BED_LINKEM_SEED:+--seed "$BED_LINKEM_SEED"}
		for ((i = 0; i < 50; i++)); do
			grep -q '^linkem: ready' "$log" && break
			sleep 0.1
		done
		grep -q '^linkem: ready' "$log" ||
		    bed_fail "linkem on uplink $k did not start: $(cat "$log")"
	done
}

# bed_cut K / bed_restore K: uplink K stops passing anything (a dead line
# beyond the modem: the client's link stays up) / passes again. The
# uplink must run through linkem (delay, loss or BED_LINKEM=1).
bed_cut() {
	local pid
	pid=$(bed_pid "linkem$1")
	[ -n "$pid" ] || bed_fail "bed_cut $1: uplink $1 has no linkem"
	kill -USR2 "$pid"
	bed_linkem_event "$1" cut
}
bed_restore() {
	local pid
	pid=$(bed_pid "linkem$1")
	[ -n "$pid" ] || bed_fail "bed_restore $1: uplink $1 has no linkem"
	kill -USR2 "$pid"
	bed_linkem_event "$1" restore
}
# bed_linkem_event K EVENT: wait until linkem K logged EVENT last
bed_linkem_event() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep '^linkem: event=' "$BED_TMP/linkem$1.log" | tail -n 1 |
		    grep -q "event=$2 " && return 0
		sleep 0.02
	done
	bed_fail "linkem on uplink $1 did not log $2"
}

# bed_link_down K / bed_link_up K: the client's interface of uplink K goes
# down (the modem unplugged: the kernel sees it) / comes back.
bed_link_down() { ip -n "$NS_CLI" link set "up$1" down; }
bed_link_up() {
	ip -n "$NS_CLI" link set "up$1" up
	# the routes of a down link are gone: put back what bed_setup made
	local B=$BED_B
	if [ "${BED_BARE:-0}" = 1 ]; then
		ip -n "$NS_CLI" route replace default via "10.$B.$1.1" \
		    dev "up$1" metric $((100 * $1))
	elif [ "$1" -eq 1 ]; then
		ip -n "$NS_CLI" route replace default via "10.$B.1.1" dev up1
	else
		ip -n "$NS_CLI" route replace default via "10.$B.$1.1" \
		    dev "up$1" table $((100 + $1))
		ip -n "$NS_CLI" route replace "10.$B.$1.0/24" dev "up$1" \
		    table $((100 + $1))
	fi
}

# bed_ipv6: IPv6 on the concentrator <-> destination link as well, with
# unique-local addresses random per run (fdXX:XXXX:B::/64, inside fd00::/8):
# $prefix::1 on the concentrator, $BED_DST_IP6 on the destination. Call
# after bed_setup and before bed_nginx_start, which then listens on
# BED_DST_IP6 too. Sets BED_DST_IP6 and BED_DST_NET6 (for --allow). Beds
# that do not call it stay IPv4-only, as before.
bed_ipv6() {
	local p
	p=$(printf 'fd%02x:%x:%x' $(($(rand_u16) % 256)) "$(rand_u16)" \
	    "$BED_B")
	BED_DST_NET6=$p::/64
	BED_DST_IP6=$p::2
	# nodad: usable at once, no tentative phase
	ip -n "$NS_SRV" addr add "$p::1/64" dev to-dst nodad
	ip -n "$NS_DST" addr add "$BED_DST_IP6/64" dev to-srv nodad
	say "bed: IPv6 $BED_DST_NET6 concentrator=$p::1 dst=$BED_DST_IP6"
}

# bed_shape NS IF RATE: tbf on IF's egress.
#
# veth hands tbf GSO packets of up to 64 KiB; tbf segments any packet larger
# than its burst, so burst need not cover GSO, but with a burst of only a
# few MTUs the bucket refills too coarsely and goodput drops. Measured with
# iperf3 on a 40mbit uplink (Mbit/s, bbr / cubic):
#	burst 3000  latency 25ms: 36.0 / 36.3
#	burst 8000  latency 25ms: 37.3 / 36.3
#	burst 20000 latency 5ms:  38.1 / 37.4
#	burst 20000 latency 25ms: 38.1 / 38.3
#	burst 64000 latency 25ms: 38.4 / 38.4
# The ceiling is 1448/1514 of the rate (38.3 at 40mbit: tbf counts the
# Ethernet header). So: 4 ms worth of rate, at least 16 KB, and a 25 ms
# queue, enough for cubic to keep the link busy without turning the bed
# into a bufferbloat test. Override with BED_TBF_BURST, BED_TBF_LATENCY.
bed_shape() {
	local ns=$1 dev=$2 rate=$3 bits burst
	bits=$(tc_rate_bits "$rate")
	burst=$((bits / 8 / 250))
	[ "$burst" -ge 16384 ] || burst=16384
	tc -n "$ns" qdisc add dev "$dev" root tbf rate "$rate" \
	    burst "${BED_TBF_BURST:-$burst}" latency "$BED_TBF_LATENCY"
}

# tc_rate_bits 20mbit -> 20000000
tc_rate_bits() {
	local r=${1,,}
	case $r in
	*gbit) echo $((${r%gbit} * 1000000000)) ;;
	*mbit) echo $((${r%mbit} * 1000000)) ;;
	*kbit) echo $((${r%kbit} * 1000)) ;;
	*bit) echo "${r%bit}" ;;
	*) bed_fail "rate $1: use Nkbit, Nmbit or Ngbit" ;;
	esac
}

# bed_forwarding on|off: let the concentrator route client <-> destination
# directly (plain IP, no proxy). Used only to measure single-uplink
# baselines; off otherwise, so nothing reaches the destination except
# through mpsocks.
bed_forwarding() {
	local v=0
	[ "$1" = on ] && v=1
	bed_ns "$NS_SRV" sysctl -qw net.ipv4.ip_forward=$v
}

# --- the destination web server ------------------------------------------------

# bed_make_file NAME MB: random file under the web root; prints its path
bed_make_file() {
	local f=$BED_TMP/www/$1
	head -c "$(($2 * 1048576))" /dev/urandom >"$f"
	echo "$f"
}

# nginx in the foreground of its own process (no master, no daemon), all
# paths in the per-run temp dir. GET serves www/, PUT writes www/upload/.
# BED_NGINX_EXTRA, if set, is added inside the http block (more server
# blocks, e.g. a TLS listener).
bed_nginx_start() {
	local T=$BED_TMP
	printf '<html>mpsocks test bed %s</html>\n' "$BED_ID" \
	    >"$T/www/index.html"
	cat >"$T/nginx.conf" <<EOF
master_process off;
daemon off;
pid $T/nginx.pid;
error_log $T/nginx-error.log notice;
events { worker_connections 512; }
http {
	access_log $T/access.log;
	client_body_temp_path $T/nginx-tmp/body;
	proxy_temp_path $T/nginx-tmp/proxy;
	fastcgi_temp_path $T/nginx-tmp/fastcgi;
	uwsgi_temp_path $T/nginx-tmp/uwsgi;
	scgi_temp_path $T/nginx-tmp/scgi;
	default_type application/octet-stream;
	sendfile on;
	server {
		listen $BED_DST_IP:$BED_HTTP_PORT;${BED_DST_IP6:+
		listen [$BED_DST_IP6]:$BED_HTTP_PORT;}
		server_name _;
		root $T/www;
		location /upload/ {
			dav_methods PUT;
			create_full_put_path on;
			client_max_body_size 2g;
			client_body_buffer_size 1m;
		}
	}${BED_NGINX_EXTRA:+
$BED_NGINX_EXTRA}
}
EOF
	bed_spawn nginx "$NS_DST" "$T/nginx.log" \
	    nginx -p "$T" -c "$T/nginx.conf" -e "$T/nginx-error.log"
	bed_wait_port "$NS_DST" "$BED_HTTP_PORT" 10 ||
	    bed_fail "nginx did not start"
}

bed_url() { echo "http://$BED_DST_NAME:$BED_HTTP_PORT/$1"; }
bed_url_ip() { echo "http://$BED_DST_IP:$BED_HTTP_PORT/$1"; }
bed_url_ip6() { echo "http://[$BED_DST_IP6]:$BED_HTTP_PORT/$1"; }

# --- the daemons ---------------------------------------------------------------

# bed_keys: a key shared by the client "alice" and the concentrator
bed_keys() {
	local key
	if [ -x "$BED_BUILD/mpsocks-server" ]; then
		key=$("$BED_BUILD/mpsocks-server" --genkey) ||
		    bed_fail "mpsocks-server --genkey failed"
	else
		key=$(head -c 32 /dev/urandom | base64)
	fi
	BED_KEY_SRV=$BED_TMP/server.keys
	BED_KEY_CLI=$BED_TMP/local.key
	printf 'alice %s\n' "$key" >"$BED_KEY_SRV"
	printf 'alice %s\n' "$key" >"$BED_KEY_CLI"
	# a key nobody else knows, for negative tests
	printf 'alice %s\n' "$(head -c 32 /dev/urandom | base64)" \
	    >"$BED_TMP/wrong.key"
	chmod 600 "$BED_KEY_SRV" "$BED_KEY_CLI" "$BED_TMP/wrong.key"
}

# bed_server_start [ARGS...]: the concentrator on $BED_PUB:$BED_SRV_PORT,
# allowed to reach the destination subnet (private addresses are refused
# by default).
bed_server_start() {
	[ -n "${BED_KEY_SRV-}" ] || bed_keys
	# shellcheck disable=SC2086 # BED_WRAP: words, e.g. "prlimit --nofile=64"
	bed_spawn server "$NS_SRV" "$BED_TMP/server.log" ${BED_WRAP-} \
	    "$BED_BUILD/mpsocks-server" --listen "$BED_PUB:$BED_SRV_PORT" \
	    --key-file "$BED_KEY_SRV" --allow "$BED_DST_NET" \
	    --handshake-timeout 2 -v "$@"
	bed_wait_port "$NS_SRV" "$BED_SRV_PORT" 10 ||
	    bed_fail "mpsocks-server did not start"
}

# bed_local_conf: mpsocks-local sends private addresses direct unless a
# rule says otherwise (docs/policy.md), and every address of the bed is
# one: this config bonds everything, as before policies, so each test
# means what it meant ("any", not CIDRs: those would make mpsocks-local
# resolve names itself). A test's own -c FILE, given later, replaces it.
bed_local_conf() {
	BED_LOCAL_CONF=$BED_TMP/local-bed.conf
	printf '[rule bed-bonded]\nany = yes\naction = bond\n' \
	    >"$BED_LOCAL_CONF"
}

# bed_local_start [ARGS...]: the SOCKS5 proxy on 127.0.0.1:$BED_LOCAL_PORT.
# Both start functions put $BED_WRAP (words, e.g. "prlimit --nofile=64",
# which execs: the pid stays the daemon's) before the daemon.
bed_local_start() {
	[ -n "${BED_KEY_CLI-}" ] || bed_keys
	[ -n "${BED_LOCAL_CONF-}" ] || bed_local_conf
	# shellcheck disable=SC2086
	bed_spawn local "$NS_CLI" "$BED_TMP/local.log" ${BED_WRAP-} \
	    "$BED_BUILD/mpsocks-local" --listen "127.0.0.1:$BED_LOCAL_PORT" \
	    --server "$BED_PUB:$BED_SRV_PORT" --key-file "$BED_KEY_CLI" \
	    -c "$BED_LOCAL_CONF" -v "$@"
	bed_wait_port "$NS_CLI" "$BED_LOCAL_PORT" 10 ||
	    bed_fail "mpsocks-local did not start"
}

# --- transfers -----------------------------------------------------------------

# bed_curl OUTFILE CURLARGS...: curl in the client namespace. Prints
# "http_code size_bytes speed_bytes_per_s seconds"; returns curl's status.
bed_curl() {
	local out=$1
	shift
	bed_ns "$NS_CLI" curl -sS --max-time 120 -o "$out" \
	    -w '%{http_code} %{size_download} %{speed_download} %{time_total}\n' \
	    "$@"
}

# bed_fetch_exact N NAME [MAXTIME]: N downloads of the web root's NAME
# through mpsocks-local, MAXTIME (default 120) seconds each; prints how
# many came back HTTP 200 and byte-exact
bed_fetch_exact() {
	local n=$1 name=$2 max=${3:-120} i ok=0 code out=$BED_TMP/out/fetch.bin
	for ((i = 0; i < n; i++)); do
		rm -f "$out"
		if code=$(bed_ns "$NS_CLI" curl -sS --max-time "$max" -o "$out" \
		    -w '%{http_code}' --socks5-hostname \
		    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url "$name")") &&
		    [ "$code" = 200 ] &&
		    bed_same_file "$BED_TMP/www/$name" "$out" >/dev/null; then
			ok=$((ok + 1))
		fi
	done
	echo "$ok"
}

# bed_baseline K FILE: plain TCP download of FILE from the destination over
# uplink K alone, routed by the concentrator (IP forwarding, no proxy).
# Binding the source address selects the uplink through the ip rules.
# Prints bytes/s.
bed_baseline() {
	local k=$1 file=$2 res code rate
	bed_forwarding on
	res=$(bed_curl "$BED_TMP/out/baseline" --interface "10.$BED_B.$k.2" \
	    "$(bed_url_ip "$file")") || { bed_forwarding off; return 1; }
	bed_forwarding off
	rm -f "$BED_TMP/out/baseline"
	read -r code _ rate _ <<<"$res"
	[ "$code" = 200 ] || { say "baseline over up$k: HTTP $code" >&2; return 1; }
	echo "$rate"
}
