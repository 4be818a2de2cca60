#!/usr/bin/env bash
# The capture clock on real bytes (samples retimed with editcap, joined in
# file order with mergecap -a):
# - a lone packet stamped far ahead (the corpus' pcapng-example.pcapng has a
#   SYN-ACK of 2061 among packets of 2015) changes nothing: the same
#   timeline and findings as the sample, over TCP and over UDP (DTLS);
# - a real quiet spell longer than the idle timeout (600 s) ends the
#   connection at the spell, as before: TCP keeps the tuple's id as a
#   tombstone and reports nothing after it; a UDP flow starts a new
#   conversation under the same u<N>; both get handshake_unfinished.
set -euo pipefail
: "${EK_SRC:?}" "${EKUSCOPE:?}"
for t in editcap mergecap capinfos; do
	command -v "$t" >/dev/null || { echo "FAIL: $t not found (apt-get install tshark)"; exit 1; }
done
S=$EK_SRC/samples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# retime IN OUT FIRST LAST SECONDS: frames FIRST..LAST of IN moved by
# SECONDS, the file order kept; pcapng when OUT ends so (64-bit times:
# classic pcap's 32-bit seconds would wrap a jump past 2038 backwards)
retime() {
	local in=$1 out=$2 a=$3 b=$4 dt=$5 n fmt=pcap
	case "$out" in *.pcapng) fmt=pcapng ;; esac
	n=$(capinfos -c -M "$in" | awk '/Number of packets/ {print $NF}')
	local parts=()
	if [ "$a" -gt 1 ]; then editcap -F pcap -r "$in" "$tmp/p1.pcap" "1-$((a - 1))"; parts+=("$tmp/p1.pcap"); fi
	editcap -F pcap -r -t "$dt" "$in" "$tmp/p2.pcap" "$a-$b"
	parts+=("$tmp/p2.pcap")
	if [ "$b" -lt "$n" ]; then editcap -F pcap -r "$in" "$tmp/p3.pcap" "$((b + 1))-$n"; parts+=("$tmp/p3.pcap"); fi
	mergecap -F "$fmt" -a -w "$out" "${parts[@]}"
}
# frame seconds (integer part) of frame F in capture C
fsec() { tshark -r "$1" -Y "frame.number==$2" -T fields -e frame.time_epoch 2>/dev/null | cut -d. -f1; }
# timeline without the time column, then the findings without the file column
view() {
	"$EKUSCOPE" -q -o "$tmp/t.csv" --findings "$tmp/f.csv" "$1" >/dev/null 2>&1 || true
	cut -d, -f2,4- "$tmp/t.csv"
	cut -d, -f1,2,4- "$tmp/f.csv"
}

tcp=$S/expired-server-cert-443.pcap          # 16 frames: SYN-ACK 2, server flight 6
udp=$S/dtls12-reject-no-clientauth-8444.pcap # 13 frames: HelloVerifyRequest 2, server flight 4-11

# 1. a lone outlier: the SYN-ACK (TCP) / HelloVerifyRequest (UDP) 47 years ahead
for s in "$tcp" "$udp"; do
	b=$(basename "$s" .pcap)
	retime "$s" "$tmp/$b.out.pcapng" 2 2 1500000000
	d=$(($(fsec "$tmp/$b.out.pcapng" 2) - $(fsec "$tmp/$b.out.pcapng" 3)))
	[ "$d" -gt 1400000000 ] && ok || bad "$b: frame 2 not retimed ($d s)"
	view "$s" >"$tmp/want"
	view "$tmp/$b.out.pcapng" >"$tmp/got"
	grep -q ',Certificate,' "$tmp/want" && ok || bad "$b: no Certificate row in the sample"
	if diff "$tmp/want" "$tmp/got" >"$tmp/diff"; then ok; else bad "$b: the outlier changed the output"; cat "$tmp/diff"; fi
done

# 2. a real quiet spell of 700 s before the server's flight (every later
# packet moved): the connection ends idle after the ClientHello
retime "$tcp" "$tmp/tcp.gap.pcap" 6 16 700
view "$tmp/tcp.gap.pcap" >"$tmp/got"
events=$(grep -v '^frame\|^code' "$tmp/got" | grep -v '^handshake_unfinished' | cut -d, -f1,7 | tr '\n' ' ')
[ "$events" = "1,TcpOpen 4,ClientHello " ] && ok || bad "tcp gap: rows after the spell: '$events'"
grep -q '^handshake_unfinished,info,5,0,' "$tmp/got" && ok || bad "tcp gap: no handshake_unfinished at frame 5"

retime "$udp" "$tmp/udp.gap.pcap" 4 13 700
view "$tmp/udp.gap.pcap" >"$tmp/got"
grep -q '^handshake_unfinished,info,3,u0,' "$tmp/got" && ok || bad "udp gap: the flow did not end idle after frame 3"
# the second conversation (same id) still has the server's certificate and the alert
grep -q '^9,u0,.*,Certificate,' "$tmp/got" && ok || bad "udp gap: no Certificate row for the resumed flow"
grep -q '^handshake_failed,error,13,u0,' "$tmp/got" && ok || bad "udp gap: no handshake_failed at frame 13"

echo "clock outlier: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
