#!/usr/bin/env bash
# Malformed-input matrix (issue 7): not a capture, empty, truncated header,
# cut mid-packet, snaplen 64/96, lying TLS lengths, huge/long certificate
# lists, zero-length records, SSLv2 + garbage, pcapng with unknown and
# corrupt blocks, a million SYNs (bounded memory and time), and hostile
# names (CSV formula neutralised, no raw ESC, valid UTF-8).  Inputs are
# generated into a temporary directory by tests/malformed/malformed.py.
# Env (set by ctest): EKUSCOPE, EK_SRC.  Optional: EK_MALFORMED_SYNS
# (default 1000000), EK_MALFORMED_MAX_RSS_MB (default 200, 400 for an
# ASan build), EK_MALFORMED_SYN_TIMEOUT (s, default 300).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${EK_SRC:=$(dirname "$here")}"
: "${EKUSCOPE:=$EK_SRC/build/ekuscope}"

if ! command -v python3 >/dev/null 2>&1; then
	echo "FAIL: python3 not found in PATH" >&2
	exit 1
fi
if [ ! -x "$EKUSCOPE" ]; then
	echo "FAIL: ekuscope binary not found: EKUSCOPE=$EKUSCOPE" >&2
	exit 1
fi
exec python3 "$here/malformed/malformed.py" --ekuscope "$EKUSCOPE" --src "$EK_SRC" "$@"
