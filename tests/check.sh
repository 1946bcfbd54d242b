#!/bin/bash
# `make check`: every suite (the layer check, unit tests plain and under
# ASan/UBSan, fuzz smoke runs and corpus replays, integration tests in
# namespaces), then one line: "N passed, N failed". Exits non-zero on any
# failure.
set -u
B=build
LOGDIR=${LOGDIR:-$B/test-logs}
mkdir -p "$LOGDIR"
pass=0
fail=0
skip=0
failed=()
skipped=()

ok() { pass=$((pass + 1)); echo "PASS: $1"; }
ko() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL: $1"; }

# Unit tests: cmocka prints TAP; every case counts. A binary that dies
# (a sanitizer abort) counts as one more failure.
run_unit() {	# name binary
	local log="$LOGDIR/unit-$1.log" n_ok n_ko rc
	CMOCKA_MESSAGE_OUTPUT=TAP "$2" >"$log" 2>&1
	rc=$?
	n_ok=$(grep -c '^ok ' "$log")
	n_ko=$(grep -c '^not ok ' "$log")
	pass=$((pass + n_ok))
	fail=$((fail + n_ko))
	[ "$n_ko" -eq 0 ] || failed+=("$1: $(grep '^not ok ' "$log" |
	    head -3 | tr '\n' ';')")
	if [ "$rc" -ne 0 ] && [ "$n_ko" -eq 0 ]; then
		ko "$1 exited $rc"
		tail -20 "$log"
	fi
	echo "unit $1: $n_ok passed, $n_ko failed"
	[ "$n_ko" -eq 0 ] || grep -B2 -A8 '^not ok ' "$log" | head -40
}

# The layer rules (tests/layers.sh) count as one test: one PASS or one
# FAIL, with the violations printed.
echo "== layers"
if bash tests/layers.sh >"$LOGDIR/layers.log" 2>&1; then
	ok "layers"
else
	ko "layers"
	tail -30 "$LOGDIR/layers.log"
fi

echo "== unit tests"
for t in $UNIT; do
	run_unit "$t" "$B/unit/$t"
	run_unit "${t}[asan]" "$B/asan/unit/$t"
done

echo "== fuzz smoke (${FUZZ_RUNS} runs each) and corpus replay"
for f in $FUZZ; do
	log="$LOGDIR/fuzz-$f.log"
	work=$(mktemp -d)
	if "$B/fuzz/$f" -runs="$FUZZ_RUNS" -dict="tests/fuzz/$f.dict" \
	    "$work" "tests/fuzz/corpus/$f" >"$log" 2>&1; then
		ok "fuzz $f"
	else
		ko "fuzz $f"
		tail -30 "$log"
	fi
	rm -rf "$work"
	if "$B/fuzz-replay/$f" "tests/fuzz/corpus/$f" \
	    >"$LOGDIR/replay-$f.log" 2>&1; then
		ok "replay $f"
	else
		ko "replay $f"
		tail -30 "$LOGDIR/replay-$f.log"
	fi
done

echo "== integration tests"
if [ -x tests/integration/run.sh ] || [ -f tests/integration/run.sh ]; then
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		PASS:*) pass=$((pass + 1)) ;;
		FAIL:*) fail=$((fail + 1)); failed+=("${line#FAIL: }") ;;
		SKIP:*) skip=$((skip + 1)); skipped+=("${line#SKIP: }") ;;
		esac
	done < <(LOGDIR="$LOGDIR" bash tests/integration/run.sh 2>&1)
else
	ko "integration: tests/integration/run.sh is missing"
fi

echo
if [ "$skip" -gt 0 ]; then
	echo "SKIPPED ($skip) -- these did not run here:"
	printf '  %s\n' "${skipped[@]}"
fi
if [ "$fail" -gt 0 ]; then
	echo "FAILED:"
	printf '  %s\n' "${failed[@]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
