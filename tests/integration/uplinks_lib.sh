# shellcheck shell=bash
#
# Helpers for the t_uplinks_*.sh tests (source after lib.sh): a config
# with [uplink] sections, the client's routing/MPTCP state as text, and
# waiting for mpsocks-local's endpoints to appear.

# up_conf FILE NAME:IF[:ROLE[:GATEWAY]]...: [uplink] sections into FILE
up_conf() {
	local f=$1 spec name dev role gw
	shift
	: >"$f"
	for spec in "$@"; do
		IFS=: read -r name dev role gw <<<"$spec"
		printf '[uplink %s]\ninterface = %s\n' "$name" "$dev" >>"$f"
		[ -z "$role" ] || printf 'role = %s\n' "$role" >>"$f"
		[ -z "$gw" ] || printf 'gateway = %s\n' "$gw" >>"$f"
	done
}

# up_state NS: everything mpsocks-local may change in NS, as text. Waits
# (up to 5 s) for IPv6 duplicate address detection to end first: its end
# adds kernel routes that would differ between two snapshots.
up_state() {
	local ns=$1 i
	for ((i = 0; i < 50; i++)); do
		[ -z "$(ip -n "$ns" -6 addr show tentative)" ] && break
		sleep 0.1
	done
	echo "# ip mptcp endpoint"
	ip -n "$ns" mptcp endpoint show
	echo "# ip mptcp limits"
	ip -n "$ns" mptcp limits show
	echo "# ip rule"
	ip -n "$ns" rule show
	echo "# ip -6 rule"
	ip -n "$ns" -6 rule show
	echo "# ip route show table all"
	ip -n "$ns" route show table all
	echo "# ip -6 route show table all"
	ip -n "$ns" -6 route show table all
}

# up_same_state BEFORE AFTER: files equal, or print the difference
up_same_state() {
	diff -u "$1" "$2" && return 0
	say "  state differs (diff above)"
	return 1
}

# up_endpoints NS: "ADDR flags" per endpoint, sorted
up_endpoints() {
	ip -n "$1" mptcp endpoint show | awk '{
		flags = ""
		for (i = 2; i <= NF; i++)
			if ($i == "subflow" || $i == "backup" || $i == "signal")
				flags = flags "," $i
		print $1, substr(flags, 2)
	}' | sort
}

# up_wait_endpoints NS COUNT [SECONDS]: until NS has COUNT endpoints
up_wait_endpoints() {
	local ns=$1 want=$2 limit=${3:-5} i n
	for ((i = 0; i < limit * 10; i++)); do
		n=$(ip -n "$ns" mptcp endpoint show | grep -c .)
		[ "$n" -eq "$want" ] && return 0
		sleep 0.1
	done
	say "  $ns has $n MPTCP endpoints after ${limit}s, want $want"
	return 1
}

# up_local_start CONF [ARGS...]: mpsocks-local with [uplink] sections
up_local_start() {
	local conf=$1
	shift
	bed_local_start -c "$conf" "$@"
}
