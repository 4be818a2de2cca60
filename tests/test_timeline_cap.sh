#!/usr/bin/env bash
# The timeline's hold cap (README "Limits", TIMELINE_MAX_HELD = 20000): a
# TLS connection whose first rows were held behind 20000 rows of undecided
# connections loses them, and the summary says how many; below the cap
# nothing is lost and nothing is said.
set -euo pipefail
: "${EK_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${EKUSCOPE:=$EK_SRC/build/ekuscope}"
W=$(mktemp -d /tmp/ekuscope-tlcap.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
in=$EK_SRC/samples/sni-mismatch-443.pcap
# its first packet is the TLS connection's SYN (the TcpOpen row, frame 1)
"$EKUSCOPE" -o "$W/plain.csv" "$in" >/dev/null
grep -q ',TcpOpen,' "$W/plain.csv" || fail "no TcpOpen row in $in"

python3 "$EK_SRC/tests/timeline_cap/flood.py" "$in" "$W/under.pcap" 19990
"$EKUSCOPE" -o "$W/under.csv" "$W/under.pcap" >"$W/under.txt"
grep -q '^under.pcap,1,.*,TcpOpen,' "$W/under.csv" || fail "19990 undecided connections: the TcpOpen row was lost"
! grep -q 'rows of TLS connections dropped' "$W/under.txt" || fail "19990 undecided connections: summary reports dropped rows"

python3 "$EK_SRC/tests/timeline_cap/flood.py" "$in" "$W/over.pcap" 20005
"$EKUSCOPE" -o "$W/over.csv" "$W/over.pcap" >"$W/over.txt"
! grep -q ',TcpOpen,' "$W/over.csv" || fail "20005 undecided connections: the TcpOpen row was kept"
[[ $(grep -c ',ClientHello,' "$W/over.csv") == 1 ]] || fail "20005 undecided connections: ClientHello row missing"
grep -q '^         1 timeline rows of TLS connections dropped (over 20000 rows held' "$W/over.txt" ||
	fail "20005 undecided connections: summary does not report the dropped row: $(cat "$W/over.txt")"
echo "timeline cap: rows lost past 20000 held are reported"
