#!/usr/bin/env bash
# Golden tests on samples/: timeline rows and findings (see samples/README.md).
set -euo pipefail
exec python3 "$EK_SRC/tests/samples_check.py"
