#!/usr/bin/env bash
# Reassembly under field conditions: every sample cut into 1-7-byte pieces,
# with duplicates, overlapping re-sends and ACKs/FINs shuffled ahead of the
# data they cover, must give the clean file's timeline and findings
# (tests/stress_reorder.py says what "same" means).  Three seeds per sample.
set -euo pipefail
exec python3 "$EK_SRC/tests/stress_reorder.py" "$EKUSCOPE" "$EK_SRC/samples" 1 2 3
