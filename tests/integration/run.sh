#!/bin/bash
# Run the integration tests: every t_*.sh here, or those named on the
# command line (t_auth_probe, t_auth_probe.sh or a path). One line per test:
# PASS, FAIL or SKIP (why); then a summary line. Each test's output goes to
# $LOGDIR/<name>.log (default build/test-logs), its daemon and nginx logs to
# $LOGDIR/<name>/. A failing test's log tail is printed.
#
# Environment: LOGDIR; TEST_TIMEOUT seconds per test (default 300).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
LOGDIR=${LOGDIR:-$repo/build/test-logs}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
mkdir -p "$LOGDIR"
LOGDIR=$(cd "$LOGDIR" && pwd)

tests=()
if [ $# -eq 0 ]; then
	for t in "$here"/t_*.sh; do
		tests+=("$t")
	done
else
	for a in "$@"; do
		n=$(basename "$a" .sh)
		[ -f "$here/$n.sh" ] || { echo "no such test: $a" >&2; exit 2; }
		tests+=("$here/$n.sh")
	done
fi

# remove_bed ID: what the test's EXIT trap should have done, for a test
# killed hard (timeout -k). Everything in the bed's namespaces belongs to
# that test run; it is stopped by PID.
remove_bed() {
	local ns pid
	for ns in "$1-cli" "$1-srv" "$1-dst" "$1-mid"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	rmdir /etc/netns 2>/dev/null
	rm -rf /tmp/mpsocks-"$1".*
}

pass=0 fail=0 skip=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$LOGDIR/$name.log
	rm -rf "${LOGDIR:?}/$name"
	start=$(date +%s)
	# -k: a test that ignores TERM (stuck in its cleanup) is killed 20 s
	# later. timeout signals the test's whole process group, so its
	# curl and daemons stop too; the test's EXIT trap removes the bed.
	BED_LOGDIR=$LOGDIR/$name timeout -k 20 "$TEST_TIMEOUT" \
	    bash "$t" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	# The bed must leave nothing behind. Its id is in the log's first
	# "bed: id=..." line; a namespace of that id still there is a leak.
	id=$(sed -n 's/^bed: id=\([a-z0-9]*\) .*/\1/p' "$log" | head -n1)
	if [ -n "$id" ] && ip netns list | grep -q "^$id-"; then
		echo "bed of $name left namespaces behind:" \
		    "$(ip netns list | grep "^$id-" | awk '{printf "%s ", $1}')" \
		    >>"$log"
		[ $rc -eq 0 ] && rc=1
		remove_bed "$id"
	fi
	case $rc in
	0)
		echo "PASS: $name"
		pass=$((pass + 1))
		;;
	77)
		why=$(grep -m1 '^SKIP: ' "$log" | sed 's/^SKIP: //')
		echo "SKIP: $name (${why:-no reason given})"
		skip=$((skip + 1))
		;;
	*)
		what="exit $rc"
		[ $rc -eq 124 ] && what="timed out after ${TEST_TIMEOUT}s"
		echo "FAIL: $name"
		echo "----- $name: $what after ${secs}s; last 40 lines of $log -----"
		tail -n 40 "$log" | sed 's/^/    /'
		echo "-----"
		fail=$((fail + 1))
		;;
	esac
done

echo "integration: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
