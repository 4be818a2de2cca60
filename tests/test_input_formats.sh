#!/usr/bin/env bash
# What ekuscope reads (issue 13 items 3-4, issue 12 item 7), on real bytes:
#  - gzip / zstd / lz4 files, told by magic bytes (no extension), by path
#    and on standard input: the same timeline and findings as the
#    uncompressed file; Zeek's tls-fragmented-handshake.pcap.gz;
#  - a truncated compressed file and a truncated or corrupt pcapng: read up
#    to the cut, a warning and the summary say so;
#  - pcapng with interfaces of different link types (mergecap of an
#    Ethernet sample and a raw-IP rewrite), big-endian sections, several
#    sections, if_tsresol / if_tsoffset, obsolete PB, SPB, NRB and unknown
#    blocks (tests/pcapng_write.py): frames, messages and times as tshark
#    shows them; a BPF filter per link type;
#  - Decryption Secrets Blocks after the first packet, and a pcapng with
#    secrets on standard input (issue 12 item 7): the same as --keylog;
#    after the last packet: counted, used for the next file.
# Env (ctest): EKUSCOPE, EK_SRC, EK_SHARED.
set -euo pipefail
: "${EKUSCOPE:?}" "${EK_SRC:?}" "${EK_SHARED:?}"
for t in gzip zstd lz4 editcap mergecap tshark python3; do
	command -v "$t" >/dev/null || { echo "FAIL: $t not installed (scripts/deps.sh)" >&2; exit 1; }
done
S=$EK_SRC/samples
C=$EK_SHARED/corpus/public
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# timeline (without the file column) and findings of one run; stdout: report
run() { # OUT_PREFIX ekuscope-args...
	local p=$1
	shift
	"$EKUSCOPE" -o "$p.tl" --findings "$p.fi" "$@" >"$p.out" 2>"$p.err" || echo "rc=$?" >>"$p.err"
	cut -d, -f2- "$p.tl" >"$p.tl2"
	cut -d, -f1,2,4- "$p.fi" >"$p.fi2"
}
same() { # A B what
	if cmp -s "$1.tl2" "$2.tl2" && cmp -s "$1.fi2" "$2.fi2" && ! grep -q rc= "$2.err"; then
		ok "$3"
	else
		fail "$3"
		diff "$1.tl2" "$2.tl2" | head -5 >&2 || true
		cat "$2.err" >&2
	fi
}

# ---- compressed -----------------------------------------------------
for s in core-cucm-8443.pcap tls13-mtls-5061-dsb.pcapng ipv6-vlan-8443.pcap; do
	run "$T/plain" "$S/$s"
	[ "$(wc -l <"$T/plain.tl2")" -gt 5 ] || fail "$s: too few rows to compare"
	for z in gzip zstd lz4; do
		"$z" -q -c "$S/$s" >"$T/capture" 2>/dev/null || "$z" -c "$S/$s" >"$T/capture"
		run "$T/z" "$T/capture"
		same "$T/plain" "$T/z" "$s as $z, by path (no extension)"
		run "$T/zs" - <"$T/capture"
		same "$T/plain" "$T/zs" "$s as $z, on standard input"
	done
done

zf=$C/zeek_zeek/testing/btest/Traces/tls/tls-fragmented-handshake.pcap.gz
zcat "$zf" >"$T/frag.pcap"
run "$T/fu" "$T/frag.pcap"
run "$T/fz" "$zf"
same "$T/fu" "$T/fz" "zeek tls-fragmented-handshake.pcap.gz"
grep -q '^410,.*,Certificate,' "$T/fz.tl2" || fail "zeek .pcap.gz: no Certificate at frame 410"

# truncated: what came before the cut is read, a warning and the summary say
# so.  Compressed in four frames (members), each decodable on its own: one
# frame of a small file would decode to nothing before the cut.
run "$T/full" "$S/neighbor-zone-5061.pcap"
split -n 4 "$S/neighbor-zone-5061.pcap" "$T/part."
for z in gzip zstd lz4; do
	for p in "$T"/part.*; do "$z" -c "$p" 2>/dev/null; done >"$T/c.$z"
	head -c $(($(stat -c %s "$T/c.$z") * 2 / 3)) "$T/c.$z" >"$T/cut.$z"
	run "$T/cut" "$T/cut.$z"
	if grep -q "rc=" "$T/cut.err" || ! grep -q "warning: .*cut.$z: $z data ends early: the compressed file is truncated" "$T/cut.err" ||
		! grep -q "1 file truncated: read up to the cut" "$T/cut.out"; then
		fail "truncated $z: $(cat "$T/cut.err")"
	fi
	n=$(wc -l <"$T/cut.tl2")
	if [ "$n" -lt 3 ] || ! head -n "$((n - 1))" "$T/cut.tl2" | cmp -s - <(head -n "$((n - 1))" "$T/full.tl2"); then
		fail "truncated $z: the rows before the cut differ from the full file's"
	else
		ok "truncated $z: $n rows up to the cut, warned"
	fi
done

# ---- pcapng: several link types, byte orders, sections, blocks ------
# frames, handshake messages and times: ekuscope's CSV against tshark
tshark_check() { # FILE what
	tshark -n -2 -r "$1" -o tcp.reassemble_out_of_order:TRUE -d tcp.port==8443,tls -d tcp.port==5061,tls \
		-d tcp.port==443,tls -T fields -e frame.number -e frame.time_epoch -e tls.handshake.type \
		-Y tls.handshake.type 2>/dev/null >"$T/ts.txt"
	"$EKUSCOPE" -q -o "$T/ek.csv" "$1" >/dev/null 2>"$T/ek.err" || { fail "$2: $(cat "$T/ek.err")"; return; }
	if python3 - "$T/ts.txt" "$T/ek.csv" <<'EOF'; then ok "$2: as tshark"; else fail "$2"; fi
import collections, csv, datetime, sys
names = {1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 11: "Certificate", 12: "ServerKeyExchange",
         13: "CertificateRequest", 14: "ServerHelloDone", 16: "ClientKeyExchange"}
ts, times = collections.Counter(), {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 3:
        continue
    sec, frac = f[1].split(".")
    t = datetime.datetime.fromtimestamp(int(sec), datetime.timezone.utc)
    times[int(f[0])] = t.strftime("%Y-%m-%dT%H:%M:%S.") + frac[:6] + "Z"  # truncated, as ekuscope prints
    for ty in f[2].split(","):
        if int(ty) in names:
            ts[(int(f[0]), names[int(ty)])] += 1
ek, ektimes = collections.Counter(), {}
for r in csv.DictReader(open(sys.argv[2])):
    if r["event"] in names.values():
        if r["event"] != "Certificate" or r["cert_index"] in ("", "0"):
            ek[(int(r["frame"]), r["event"])] += 1
        ektimes[int(r["frame"])] = r["time"]
bad = [k for k in (ts | ek) if ts[k] != ek[k]] + [f for f in ektimes if times.get(f) != ektimes[f]]
for k in bad[:5]:
    print("  differs:", k, ts.get(k) if isinstance(k, tuple) else (times.get(k), ektimes[k]), file=sys.stderr)
sys.exit(1 if bad or not ts else 0)
EOF
}
editcap -F pcap -C 14 -T rawip "$S/neighbor-zone-5061.pcap" "$T/raw.pcap"
mergecap -F pcapng -w "$T/multi.pcapng" "$S/core-cucm-8443.pcap" "$T/raw.pcap"
tshark_check "$T/multi.pcapng" "mergecap: Ethernet + raw IP interfaces"
python3 "$EK_SRC/tests/pcapng_write.py" "$T/be.pcapng" "$S/core-cucm-8443.pcap" "$T/raw.pcap" --be --sections \
	--tsresol 9 --tsoffset 1000 --pb 3 --spb-after 2 --extras
tshark_check "$T/be.pcapng" "big-endian, two sections, ns resolution + offset, PB, SPB, NRB, custom and unknown blocks"
python3 "$EK_SRC/tests/pcapng_write.py" "$T/bin.pcapng" "$S/core-cucm-8443.pcap" "$T/raw.pcap" --tsresol $((0x80 | 30))
tshark_check "$T/bin.pcapng" "one section, two link types, binary resolution 2^-30"

# one BPF program per link type: a filter keeps one interface's connection
"$EKUSCOPE" -q -o "$T/f.csv" -r "$T/multi.pcapng" "tcp port 5061" >/dev/null 2>&1
"$EKUSCOPE" -q -o "$T/g.csv" -r "$T/multi.pcapng" "tcp port 8443" >/dev/null 2>&1
if grep -q ':5061,' "$T/f.csv" && ! grep -q ':8443,' "$T/f.csv" && grep -q ':8443,' "$T/g.csv" && ! grep -q ':5061,' "$T/g.csv"; then
	ok "BPF filter per link type"
else
	fail "BPF filter on a file with two link types"
fi

# pcapng truncated inside a block, and a corrupt block: read up to it
sz=$(stat -c %s "$T/multi.pcapng")
head -c $((sz - 50)) "$T/multi.pcapng" >"$T/tr.pcapng"
run "$T/tr" "$T/tr.pcapng"
grep -q "warning: .*tr.pcapng: pcapng file ends inside the block at byte [0-9]* (truncated); read up to there" "$T/tr.err" &&
	grep -q "1 file truncated" "$T/tr.out" && ! grep -q rc= "$T/tr.err" && ok "truncated pcapng" ||
	fail "truncated pcapng: $(cat "$T/tr.err")"
python3 - "$T/multi.pcapng" "$T/bad.pcapng" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
o, n = 0, 0
while o < len(d):
    ln = struct.unpack("<I", d[o + 4:o + 8])[0]
    if struct.unpack("<I", d[o:o + 4])[0] == 6:
        n += 1
        if n == 12:
            d[o + ln - 4:o + ln] = struct.pack("<I", ln + 4)  # trailing length differs
            break
    o += ln
open(sys.argv[2], "wb").write(d)
EOF
run "$T/bad" "$T/bad.pcapng"
nrows=$(grep -c '' "$T/bad.tl2")
grep -q "warning: .*bad.pcapng: corrupt pcapng block at byte [0-9]*: trailing block length differs; read up to there" "$T/bad.err" &&
	! grep -q rc= "$T/bad.err" && [ "$nrows" -gt 1 ] && ok "corrupt pcapng block ($nrows rows before it)" ||
	fail "corrupt pcapng: $(cat "$T/bad.err")"

# the corpus file libpcap refused: every packet and connection tshark sees
pe=$C/seladb_PcapPlusPlus/Tests/Pcap++Test/PcapExamples/pcapng-example.pcapng
"$EKUSCOPE" "$pe" >"$T/pe.out" 2>"$T/pe.err" || fail "pcapng-example: $(cat "$T/pe.err")"
np=$(tshark -r "$pe" -T fields -e frame.number 2>/dev/null | wc -l)
ns=$(tshark -r "$pe" -T fields -e tcp.stream -Y tcp 2>/dev/null | sort -u | wc -l)
grep -q "1 file, $np packets, $ns TCP connections" "$T/pe.out" && ok "pcapng-example: $np packets, $ns TCP connections" ||
	fail "pcapng-example: want $np packets, $ns TCP connections: $(grep Summary "$T/pe.out")"

# ---- secrets blocks -------------------------------------------------
# issue 12 item 7: embedded secrets on standard input as by path
run "$T/dp" "$S/tls13-mtls-5061-dsb.pcapng"
run "$T/ds" -r - <"$S/tls13-mtls-5061-dsb.pcapng"
same "$T/dp" "$T/ds" "pcapng with secrets on standard input (issue 12 item 7)"
grep -q ',Certificate,' "$T/ds.tl2" || fail "secrets on standard input: certificates not decrypted"
# a secrets block after the first packets (before the handshake): applies
# from there on, by path, on standard input (big-endian), gzip-compressed,
# as --keylog does
run "$T/kl" --keylog "$S/tls13-mtls-5061.keylog" "$S/tls13-mtls-5061.pcap"
grep -q ',Certificate,' "$T/kl.tl2" || fail "keylog reference has no certificates"
python3 "$EK_SRC/tests/pcapng_write.py" "$T/late.pcapng" "$S/tls13-mtls-5061.pcap" --dsb "$S/tls13-mtls-5061.keylog" \
	--dsb-after 3
run "$T/lp" "$T/late.pcapng"
same "$T/kl" "$T/lp" "secrets block after packet 3, by path"
python3 "$EK_SRC/tests/pcapng_write.py" "$T/late-be.pcapng" "$S/tls13-mtls-5061.pcap" --dsb "$S/tls13-mtls-5061.keylog" \
	--dsb-after 3 --be
run "$T/ls" - <"$T/late-be.pcapng"
same "$T/kl" "$T/ls" "secrets block after packet 3, big-endian, on standard input"
gzip -c "$T/late.pcapng" >"$T/late.gz"
run "$T/lg" "$T/late.gz"
same "$T/kl" "$T/lg" "secrets block after packet 3, gzip-compressed"
# after the last packet: read (the summary counts it) but too late for the
# handshake, by path as on standard input; it serves the file after it
n=$(tshark -r "$S/tls13-mtls-5061.pcap" 2>/dev/null | wc -l)
python3 "$EK_SRC/tests/pcapng_write.py" "$T/end.pcapng" "$S/tls13-mtls-5061.pcap" --dsb "$S/tls13-mtls-5061.keylog" \
	--dsb-after "$n"
run "$T/nk" "$S/tls13-mtls-5061.pcap"
run "$T/ep" "$T/end.pcapng"
run "$T/es" - <"$T/end.pcapng"
if cmp -s "$T/nk.tl2" "$T/ep.tl2" && cmp -s "$T/ep.tl2" "$T/es.tl2" && grep -q "incl. 1 pcapng secrets block" "$T/ep.out"; then
	ok "secrets block after the last packet: counted, not applied backwards (path = stdin)"
else
	fail "secrets block after the last packet"
fi
"$EKUSCOPE" -j 1 -o "$T/two.csv" "$T/end.pcapng" "$S/tls13-mtls-5061.pcap" >/dev/null 2>&1
[ "$(grep -c '^[^,]*tls13-mtls-5061.pcap,.*,Certificate,' "$T/two.csv")" -gt 0 ] &&
	ok "secrets block at the end of one file decrypts the next file" || fail "secrets for the next file"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "all input format checks passed"
