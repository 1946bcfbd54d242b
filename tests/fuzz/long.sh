#!/bin/bash
# `make fuzz`: every fuzz target (or those named) for FUZZ_LONG_RUNS
# executions each (default 10 million), under ASan and UBSan, starting
# from the seed corpus and what earlier runs found (build/fuzz-corpus/).
# One line per target in build/fuzz-report.txt: the date, the commit,
# executions, seconds, and the outcome. A crash stops the target, keeps
# its input (build/fuzz-crashes/) and makes the run fail.
#
# FUZZ_JOBS: targets run side by side (default 1).
set -u
B=build
RUNS=${FUZZ_LONG_RUNS:-10000000}
JOBS=${FUZZ_JOBS:-1}
report=$B/fuzz-report.txt
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain -- src include tests/fuzz 2>/dev/null)" ] &&
    commit="$commit+changes"
mkdir -p "$B/fuzz-corpus" "$B/fuzz-crashes" "$B/fuzz-logs"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || for f in tests/fuzz/fuzz_*.c; do
	targets+=("$(basename "$f" .c)")
done

one() {	# target
	local t=$1 log="$B/fuzz-logs/$1.log" start end rc done_runs
	mkdir -p "$B/fuzz-corpus/$t"
	start=$(date +%s)
	"$B/fuzz/$t" -runs="$RUNS" -dict="tests/fuzz/$t.dict" \
	    -artifact_prefix="$B/fuzz-crashes/$t-" -print_final_stats=1 \
	    "$B/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n1)
	if [ "$rc" -eq 0 ] && [ -n "$done_runs" ]; then
		printf '%s %s %s runs=%s seconds=%s crashes=0\n' \
		    "$(date -u +%Y-%m-%d)" "$commit" "$t" "$done_runs" \
		    "$((end - start))" >>"$report"
		echo "fuzz $t: $done_runs runs in $((end - start)) s, no crash"
	else
		printf '%s %s %s FAILED rc=%s (log %s)\n' "$(date -u +%Y-%m-%d)" \
		    "$commit" "$t" "$rc" "$log" >>"$report"
		echo "fuzz $t: FAILED (exit $rc), see $log" >&2
		grep -m5 -E 'ERROR|invariant failed|SUMMARY' "$log" >&2
		return 1
	fi
}

status=0
pids=()
for t in "${targets[@]}"; do
	[ -x "$B/fuzz/$t" ] || { echo "fuzz: $B/fuzz/$t not built" >&2; exit 2; }
	one "$t" &
	pids+=($!)
	if [ ${#pids[@]} -ge "$JOBS" ]; then
		wait "${pids[0]}" || status=1
		pids=("${pids[@]:1}")
	fi
done
for p in "${pids[@]}"; do
	wait "$p" || status=1
done
echo "fuzz: report in $report"
exit $status
