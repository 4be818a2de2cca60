#!/usr/bin/env bash
# tshark agreement: every TLS handshake message tshark (the reference
# dissector) finds in the public corpus must appear in ekuscope's CSV with
# the same frame, connection, type and certificate serials, and vice versa,
# unless tests/tshark_expectations.tsv explains the difference.
# Env (set by ctest): EKUSCOPE, EK_SRC, EK_SHARED.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${EK_SRC:=$(dirname "$here")}"
: "${EK_SHARED:=$EK_SRC/../shared}"
: "${EKUSCOPE:=$EK_SRC/build/ekuscope}"

for tool in tshark editcap python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "FAIL: $tool not found in PATH; this test needs tshark 4.x (apt-get install tshark)" >&2
		exit 1
	fi
done
if [ ! -x "$EKUSCOPE" ]; then
	echo "FAIL: ekuscope binary not found: EKUSCOPE=$EKUSCOPE" >&2
	exit 1
fi
if [ ! -f "$EK_SHARED/corpus/public/MANIFEST.tsv" ]; then
	echo "FAIL: no corpus manifest under EK_SHARED=$EK_SHARED" >&2
	exit 1
fi

exec python3 "$here/tshark_agreement.py" \
	--ekuscope "$EKUSCOPE" \
	--shared "$EK_SHARED" \
	--expectations "$here/tshark_expectations.tsv" "$@"
