#!/bin/bash
# Where the relay's CPU goes: the bulk download of relay.sh, once per run
# and per mode, with `perf record` on both daemons; CPU milliseconds per
# GB relayed, split into the kernel, libcrypto (the AEAD), libc (mostly
# memmove), libssl + libevent and mpsocks itself. Next to it, what
# `openssl speed` gives for the two TLS 1.3 AEADs on 16 KiB records, on
# this CPU with Debian's OpenSSL: the floor the cipher alone sets.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

MB=${BENCH_RELAY_MB:-1024}
bed_require_base
bed_require_nginx
bed_require_daemons
command -v perf >/dev/null || bed_fail "perf missing (make deps installs linux-perf)"
bed_setup 10gbit 10gbit >/dev/null
bed_make_file relay.bin "$MB" >/dev/null
bed_nginx_start

# perf_ms FILE DSO-REGEX: sampled CPU ms (cpu-clock periods are ns) in
# the DSOs matching the regex
perf_ms() {
	perf report -i "$1" --sort dso -F period,dso --stdio -g none \
	    2>/dev/null | awk -v re="$2" '$1 ~ /^[0-9]+$/ && $2 ~ re {
		s += $1 } END { printf "%.0f", s / 1e6 }'
}
memmove_ms() {
	perf report -i "$1" --sort sym -F period,sym --stdio -g none \
	    --dsos libc.so.6 2>/dev/null | awk '/memmove|memcpy/ {
		s += $1 } END { printf "%.0f", s / 1e6 }'
}

# add FILE EXPR: one figure per line, for median
add() { printf '%s\n' "$(calc "$2")" >>"$BED_TMP/$1"; }

# profile TAG "SERVER ARGS" "LOCAL ARGS"
profile() {
	local tag=$1 d res code size gb pids
	local -a sargs=() largs=()
	read -r -a sargs <<<"$2"
	read -r -a largs <<<"$3"
	bed_server_start -q "${sargs[@]}"
	bed_local_start -q "${largs[@]}"
	# one download first, so that the pool, the caches and the
	# congestion windows are warm as in relay.sh
	bed_curl /dev/null --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" \
	    "$(bed_url relay.bin)" >/dev/null
	for ((i = 0; i < RUNS; i++)); do
		pids=()
		for d in local server; do
			perf record -q -o "$BED_TMP/$tag-$d-$i.data" \
			    -p "$(bed_pid "$d")" >/dev/null 2>&1 &
			pids+=($!)
		done
		sleep 1	# perf attaches
		res=$(bed_curl /dev/null --socks5-hostname \
		    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url relay.bin)")
		kill -INT "${pids[@]}"
		wait "${pids[@]}" || true
		read -r code size _ <<<"$res"
		[ "$code" = 200 ] || bed_fail "download ($tag): HTTP $code"
		gb=$(calc "$size / 1e9")
		for d in local server; do
			f="$BED_TMP/$tag-$d-$i.data"
			add "$tag-$d-kernel" "$(perf_ms "$f" kernel) / $gb"
			add "$tag-$d-crypto" "$(perf_ms "$f" libcrypto) / $gb"
			add "$tag-$d-copy" "$(memmove_ms "$f") / $gb"
			add "$tag-$d-libc" "$(perf_ms "$f" 'libc\\.so') / $gb"
			add "$tag-$d-lib" "$(perf_ms "$f" 'libssl|libevent') / $gb"
			add "$tag-$d-own" "$(perf_ms "$f" mpsocks) / $gb"
			add "$tag-$d-all" "$(perf_ms "$f" .) / $gb"
		done
	done
	bed_stop local
	bed_stop server
}
profile tls "" ""
printf '[server]\ntls_cipher = chacha20-poly1305\n' >"$BED_TMP/chacha.conf"
profile chacha "--config $BED_TMP/chacha.conf" "--encryption tls"
profile none "" "--encryption none"

# openssl speed: kB/s for 16384-byte blocks, last field of the last line
speed() {
	openssl speed -seconds 2 -bytes 16384 -evp "$1" 2>/dev/null |
	    awk 'END { sub(/k$/, "", $NF); printf "%.2f", $NF * 1000 / 1e9 }'
}
for ((i = 0; i < RUNS; i++)); do
	add speed-aes "$(speed aes-128-gcm)"
	add speed-chacha "$(speed chacha20-poly1305)"
done

m() { median <"$BED_TMP/$1" | awk '{ printf "%.0f", $1 }'; }
echo "## Where the relay's CPU goes (perf, per GB relayed)"
echo
echo "The relay bench's download, sampled with \`perf record\` in each"
echo "daemon (tests/bench/relay_profile.sh): CPU milliseconds per GB, by"
echo "where the samples fell. \"copies\" is libc's memmove/memcpy, part of"
echo "libc. A download makes mpsocks-server encrypt and mpsocks-local"
echo "decrypt."
echo
echo "| mode | daemon | all | kernel | libcrypto | libc (copies) | libssl + libevent | mpsocks |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for t in tls chacha none; do
	case $t in
	tls) label="tls, AES-128-GCM" ;;
	chacha) label="tls, ChaCha20-Poly1305" ;;
	none) label="none" ;;
	esac
	for d in server local; do
		printf '| %s | mpsocks-%s | %s | %s | %s | %s (%s) | %s | %s |\n' \
		    "$label" "$d" "$(m "$t-$d-all")" "$(m "$t-$d-kernel")" \
		    "$(m "$t-$d-crypto")" "$(m "$t-$d-libc")" \
		    "$(m "$t-$d-copy")" "$(m "$t-$d-lib")" "$(m "$t-$d-own")"
	done
done
echo
aes=$(median <"$BED_TMP/speed-aes")
chacha=$(median <"$BED_TMP/speed-chacha")
echo "\`openssl speed -evp\` on 16 KiB blocks, one core, same run"
echo "($(openssl version | cut -d' ' -f1,2)): AES-128-GCM $aes GB/s,"
echo "ChaCha20-Poly1305 $chacha GB/s. At those rates the cipher alone costs"
echo "each daemon $(calc "1000 / $aes" | awk '{ printf "%.0f", $1 }') ms per GB" \
    "(AES-128-GCM) or $(calc "1000 / $chacha" | awk '{ printf "%.0f", $1 }') (ChaCha20-Poly1305)."
