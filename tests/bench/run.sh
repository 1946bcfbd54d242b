#!/bin/bash
# make bench: runs every benchmark, prints a table, writes
# docs/benchmarks.md. Each figure is the median of $RUNS runs (default 3),
# next to baselines measured in the same run on the same test bed.
set -eu -o pipefail	# a failing bench, not tee, decides
here=$(cd "$(dirname "$0")" && pwd)
out=${BENCH_OUT:-$here/../../docs/benchmarks.md}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# BENCHES: a subset, e.g. BENCHES="relay conns"
BENCHES=${BENCHES:-aggregate relay relay_profile setup shortflows pageload pool_cost conns failover policy}
status=0
for b in $BENCHES; do
	echo "== bench: $b"
	if ! bash "$here/$b.sh" | tee "$tmp/$b.md"; then
		echo "bench $b FAILED" >&2
		status=1
	fi
done

{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` (tests/bench/) on $(date -u +%Y-%m-%d),"
	echo "kernel $(uname -r), $(nproc) CPUs ($(lscpu |
	    sed -n 's/^Model name: *//p' | head -n1)), $(free -g |
	    awk '/^Mem:/ { print $2 }') GiB, Debian $(cat /etc/debian_version)."
	echo "Every figure is the median of"
	echo "${RUNS:-3} runs; baselines were measured in the same run on the same"
	echo "test bed. Rerun with \`make bench\` (RUNS=N for more runs)."
	echo
	for b in $BENCHES; do
		# the section only: not the logs a failing bed prints after it
		sed -n '/^## /,/^----- /p' "$tmp/$b.md" | sed '/^----- /d'
		echo
	done
	# why mpsocks is behind where it is: reasons, kept by hand
	if [ -f "$here/analysis.md" ]; then
		cat "$here/analysis.md"
		echo
	fi
	echo "## Not measured yet"
	echo
	echo "shadowsocks-libev in the aggregation table (it is in the relay"
	echo "table): see the test-bed and benchmark issue."
} >"$out"
echo "wrote $out"
exit $status
