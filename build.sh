#!/usr/bin/env bash
# Set-up command 1: install dependencies, build ekuscope, run it on a bundled sample.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
./build/ekuscope samples/traversal-7001-no-clientauth.pcap
