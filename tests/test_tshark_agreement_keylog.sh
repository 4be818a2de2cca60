#!/usr/bin/env bash
# tshark agreement on the decrypted views: the corpus captures that come with
# TLS secrets (a key log listed in the MANIFEST, or pcapng Decryption Secrets
# Blocks) are read by tshark with -o tls.keylog_file and by ekuscope with
# --keylog; every handshake message either finds must be in the other's
# output unless tests/tshark_expectations_keylog.tsv explains the difference.
# Prints the counts per cipher suite.  Env (set by ctest): EKUSCOPE, EK_SRC,
# EK_SHARED.
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

exec python3 "$here/tshark_agreement.py" --keylog-mode \
	--ekuscope "$EKUSCOPE" \
	--shared "$EK_SHARED" \
	--expectations "$here/tshark_expectations_keylog.tsv" "$@"
