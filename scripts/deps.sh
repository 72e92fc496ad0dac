#!/bin/sh
# Installs everything mipsec's build, demo and tests need on Debian 12.
# Idempotent: installs only what is missing; needs root (or sudo) only then.
set -eu

PACKAGES="
build-essential clang libclang-rt-14-dev cmake pkg-config git
libssl-dev libevent-dev libmnl-dev libconfig-dev libjansson-dev
libmicrohttpd-dev libsqlite3-dev libcmocka-dev
python3 python3-scapy tshark wireshark-common tcpdump
iproute2 nftables iputils-ping curl socat iperf3 util-linux procps
strongswan-charon strongswan-swanctl charon-cmd libcharon-extra-plugins
libstrongswan-extra-plugins libstrongswan-standard-plugins strongswan-pki
wireguard-go wireguard-tools openvpn python3-cryptography
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	SUDO=""
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			echo "deps: missing packages and not root (no sudo):$missing" >&2
			exit 1
		}
		SUDO=sudo
	fi
	# tshark asks whether non-root users may capture; answer for it.
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		$SUDO debconf-set-selections
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
else
	echo "deps: all present"
fi

# Debian's udev rules make /dev/net/tun mode 0666 (opening it grants
# nothing without CAP_NET_ADMIN in the owning network namespace); some
# minimal machines create it 0600, which stops rootless labs using TUN.
if [ -c /dev/net/tun ] && [ "$(id -u)" = 0 ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	chmod 0666 /dev/net/tun && echo "deps: /dev/net/tun set to mode 0666 (Debian default)"
fi
