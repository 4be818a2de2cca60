#!/usr/bin/env bash
# IP fragment reassembly on real bytes: every sample with its IPv4/IPv6
# datagrams cut into fragments, out of order and overlapping, must give the
# clean file's rows and findings in the frames of the last fragments, as
# tshark shows them (tests/ipfrag_check.py).
set -euo pipefail
command -v tshark >/dev/null || { echo "FAIL: tshark not found (apt-get install tshark)" >&2; exit 1; }
exec python3 "$EK_SRC/tests/ipfrag_check.py" "$EKUSCOPE" "$EK_SRC/samples"
