#!/usr/bin/env bash
# Installs what ekuscope needs to build and test on Debian (run as root).
# Skips apt entirely when every package is already installed.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libpcap-dev libssl-dev libcsv-dev zlib1g-dev libzstd-dev liblz4-dev openssl
      tshark tcpdump python3 clang libclang-rt-dev ca-certificates iproute2 procps jq
      dpkg-dev man-db groff-base gzip zstd lz4 wireshark-common chromium util-linux)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
