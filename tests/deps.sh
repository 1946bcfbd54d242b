#!/bin/sh
# `make deps`: install the Debian packages that building and testing need,
# only those missing, with apt-get. Safe to run again.
set -eu

PKGS="gcc make pkg-config clang libclang-rt-14-dev
libevent-dev libssl-dev libinih-dev libcmocka-dev libhttp-parser-dev
libjansson-dev prometheus libmaxminddb-dev libmaxmind-db-writer-perl
libmnl-dev
iproute2 procps curl wget nginx-light python3 iperf3 mptcpize ca-certificates
openssl chromium fonts-dejavu-core shadowsocks-libev tcpdump
linux-perf
build-essential debhelper dpkg-dev lintian systemd groff-base mandoc"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "make deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "make deps: need root (or sudo) to install:$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
