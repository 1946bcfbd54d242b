#!/bin/bash
# Relay A/B: two or more builds of the daemons, interleaved run by run on
# one test bed, so that a shared machine's drift hits them alike. Per run:
# Gbit/s and CPU seconds per GB of mpsocks-server, mpsocks-local and both,
# as relay.sh measures them; then each figure's median, min and max.
#
#   RUNS=8 bash tests/bench/relay_ab.sh base=/tmp/base/build new=build
#   MODE=up ...          the same for an upload (curl PUT) instead
#
# A build is a directory holding mpsocks-server and mpsocks-local, e.g. a
# base commit built apart:
#   mkdir /tmp/base && git archive BASE | tar -x -C /tmp/base &&
#   make -C /tmp/base all
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || { echo "usage: $0 LABEL=BUILD_DIR LABEL=BUILD_DIR..." >&2; exit 2; }
for lb in "$@"; do
	[ -x "${lb#*=}/mpsocks-server" ] && [ -x "${lb#*=}/mpsocks-local" ] ||
	    { echo "$lb: no mpsocks-server and mpsocks-local there" >&2; exit 2; }
done
MB=${BENCH_RELAY_MB:-1024}
MODE=${MODE:-down}
HZ=$(getconf CLK_TCK)
bed_require_base
bed_require_nginx
bed_setup 10gbit 10gbit >/dev/null
bed_make_file relay.bin "$MB" >/dev/null
bed_nginx_start

# one LABEL BUILD: start both daemons from BUILD, one transfer, one line
one() {
	local s0 l0 s1 l1 res code size rate
	BED_BUILD=$2
	bed_server_start -q
	bed_local_start -q
	s0=$(cpu_ticks "$BED_PID_server")
	l0=$(cpu_ticks "$BED_PID_local")
	if [ "$MODE" = up ]; then
		res=$(bed_ns "$NS_CLI" curl -sS --max-time 120 -o /dev/null \
		    -w '%{http_code} %{size_upload} %{speed_upload}\n' \
		    --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" \
		    -T "$BED_TMP/www/relay.bin" "$(bed_url upload/ab.bin)")
		rm -f "$BED_TMP/www/upload/ab.bin"
	else
		res=$(bed_curl /dev/null --socks5-hostname \
		    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url relay.bin)")
	fi
	s1=$(cpu_ticks "$BED_PID_server")
	l1=$(cpu_ticks "$BED_PID_local")
	read -r code size rate _ <<<"$res"
	case $code in 200|201) ;; *) bed_fail "$1: HTTP $code" ;; esac
	awk -v L="$1" -v r="$rate" -v s=$((s1 - s0)) -v l=$((l1 - l0)) \
	    -v hz="$HZ" -v sz="$size" 'BEGIN { g = sz / 1e9
	    printf "%s gbit=%.2f srv=%.3f loc=%.3f both=%.3f\n", L,
	    r * 8 / 1e9, s / hz / g, l / hz / g, (s + l) / hz / g }'
	bed_stop local
	bed_stop server
}

for ((i = 0; i < RUNS; i++)); do
	for lb in "$@"; do
		one "${lb%%=*}" "${lb#*=}" | tee -a "$BED_TMP/ab"
	done
done
echo
echo "$MODE, $MB MB per run, $RUNS runs each, interleaved:"
awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); print $1, kv[1], kv[2] } }' \
    "$BED_TMP/ab" | sort -k1,1 -k2,2 -k3,3g | awk '
    { k = $1 " " $2; v[k, ++n[k]] = $3; if (!(k in seen)) { seen[k] = 1; o[++m] = k } }
    END { for (j = 1; j <= m; j++) { k = o[j]; c = n[k]
	md = c % 2 ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2
	printf "%-16s median %.3f  min %.3f  max %.3f\n", k, md, v[k, 1], v[k, c] } }'
bed_finish
