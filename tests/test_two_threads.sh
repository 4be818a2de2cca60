#!/usr/bin/env bash
# One file on two threads (cli/handoff.h) writes what one thread writes
# when plaintext connections are dropped long after the capture's thread
# passed them (tests/two_threads_check.py says how).
set -euo pipefail
exec python3 "$EK_SRC/tests/two_threads_check.py" "$EKUSCOPE" "$EK_SRC/samples/webex-mtls-5061.pcap"
