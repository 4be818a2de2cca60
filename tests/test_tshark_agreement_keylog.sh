#!/usr/bin/env bash
# tshark agreement on the decrypted views: the corpus captures that come with
# TLS secrets (a key log listed in the MANIFEST, or pcapng Decryption Secrets
# Blocks) are read by tshark with -o tls.keylog_file and by ekuscope with
# --keylog; every handshake message either finds must be in the other's
# output unless tests/tshark_expectations_keylog.tsv explains the difference.
# The project's samples with a key log (samples/F.pcap + F.keylog) take part
# too (--samples).
# Prints the counts per cipher suite.  Env (set by ctest): EKUSCOPE, EK_SRC,
# EK_SHARED.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# same checks and runner as the test without keys, in key-log mode
exec bash "$here/test_tshark_agreement.sh" --keylog-mode \
	--expectations "$here/tshark_expectations_keylog.tsv" --samples "${EK_SRC:-$(dirname "$here")}/samples" "$@"
