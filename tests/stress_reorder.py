#!/usr/bin/env python3
"""Reassembly stress test (python3 stdlib only).

For every sample capture (samples/*.pcap, the TLS 1.3 ones with their key
logs), a seeded generator writes a "field" version of it:
  - every TCP segment's payload is cut into pieces of 1-7 bytes (the FIN,
    if any, rides on the last piece);
  - 20% of the pieces get a duplicate, and as many again an overlapping
    re-send (the same bytes as 2-4 neighbouring pieces, in one packet);
  - packets are shuffled within windows of 8, ACKs and FINs of both
    directions included.  SYNs and RSTs stay in place (and end a window):
    a SYN starts the numbering of a direction and a connection's id, a RST
    ends it; nor does a connection's first packet move.
Then ekuscope must give the same answer on both files.  "Same" means:
  - timeline: for each (connection, sender), the same sequence of rows with
    every CSV column equal except frame and time, which necessarily change
    (rows of the two directions may interleave differently, so the
    sequences are compared per sender);
  - frames: each row's frame in the field file carries bytes of the
    original frame the row had in the clean file, or of an earlier one
    (the row completes when its last piece arrives, and all its bytes came
    from frames up to the clean one);
  - findings: the same multiset of rows, every column equal except frame,
    and in the message "frame N" and durations ("N ms") are masked.
Exit 1 on any difference.

snaplen-cut-5061.pcap is left out: its cut packets cannot be cut into
pieces (their bytes are not in the file), and which direction's cut comes
first decides the connection's one data_missing finding.
"""

import csv
import glob
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

PIECE_MIN, PIECE_MAX = 1, 7
DUP_RATE = 0.20
WINDOW = 8
SKIP = {"snaplen-cut-5061.pcap"}
# UDP samples (DTLS, OpenVPN): datagrams carry no stream position, so the
# order in the file is the order of the data; reordering them changes the
# conversation itself (tests/unit_dissect_udp.c covers out-of-order DTLS
# fragments and OpenVPN packet ids).
UDP_PREFIXES = ("dtls", "openvpn")


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise SystemExit(f"{path}: not a little-endian pcap")
    if struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit(f"{path}: link type is not Ethernet")
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, sub, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        pkts.append([sec, sub, data[off + 16:off + 16 + incl], orig])
        off += 16 + incl
    return data[:24], pkts


def write_pcap(path, header, pkts):
    with open(path, "wb") as f:
        f.write(header)
        for sec, sub, b, orig in pkts:
            f.write(struct.pack("<IIII", sec, sub, len(b), orig))
            f.write(b)


def ipv4_checksum(h):
    s = sum(struct.unpack(f"!{len(h) // 2}H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Tcp:
    """Where the layers of an Ethernet/VLAN/IPv4|IPv6/TCP frame are."""

    def __init__(self, b):
        self.ok = False
        off, et = 12, struct.unpack("!H", b[12:14])[0]
        while et in (0x8100, 0x88A8):
            off += 4
            et = struct.unpack("!H", b[off:off + 2])[0]
        ip = off + 2
        if et == 0x0800 and b[ip] >> 4 == 4:
            ihl = (b[ip] & 15) * 4
            if b[ip + 9] != 6 or struct.unpack("!H", b[ip + 6:ip + 8])[0] & 0x3FFF:
                return
            self.v, tcp = 4, ip + ihl
            end = ip + struct.unpack("!H", b[ip + 2:ip + 4])[0]
            self.key = (b[ip + 12:ip + 16], b[ip + 16:ip + 20])
        elif et == 0x86DD:
            if b[ip + 6] != 6:
                return
            self.v, tcp = 6, ip + 40
            end = tcp + struct.unpack("!H", b[ip + 4:ip + 6])[0]
            self.key = (b[ip + 8:ip + 24], b[ip + 24:ip + 40])
        else:
            return
        self.ip, self.tcp = ip, tcp
        self.hl = (b[tcp + 12] >> 4) * 4
        self.flags = b[tcp + 13]
        self.seq = struct.unpack("!I", b[tcp + 4:tcp + 8])[0]
        sp, dp = struct.unpack("!HH", b[tcp:tcp + 4])
        self.tuple = frozenset([(self.key[0], sp), (self.key[1], dp)])
        self.payload = b[tcp + self.hl:end]
        self.trailer = b[end:]
        self.ok = True

    def with_payload(self, b, seq, payload, fin):
        """The frame b with another payload, sequence number and FIN bit."""
        hdr = bytearray(b[:self.tcp + self.hl])
        struct.pack_into("!I", hdr, self.tcp + 4, seq & 0xFFFFFFFF)
        hdr[self.tcp + 13] = (self.flags & ~0x01) | (0x01 if fin else 0)
        if self.v == 4:
            struct.pack_into("!H", hdr, self.ip + 2, len(hdr) - self.ip + len(payload))
            struct.pack_into("!H", hdr, self.ip + 10, 0)
            ihl = (hdr[self.ip] & 15) * 4
            struct.pack_into("!H", hdr, self.ip + 10, ipv4_checksum(bytes(hdr[self.ip:self.ip + ihl])))
        else:
            struct.pack_into("!H", hdr, self.ip + 4, len(hdr) - self.tcp + len(payload))
        return bytes(hdr) + payload


def stress(pkts, rng):
    """Field version of pkts: [(packet, original frame, pinned)]."""
    out = []
    seen = set()
    for frame, (sec, sub, b, orig) in enumerate(pkts, 1):
        t = Tcp(b)
        if not t.ok:
            out.append(([sec, sub, b, len(b)], frame, False))
            continue
        pinned = bool(t.flags & 0x06) or t.tuple not in seen  # SYN, RST, first packet
        seen.add(t.tuple)
        if not t.payload or pinned or len(b) < orig:  # snaplen-cut: kept whole
            out.append(([sec, sub, b, orig], frame, pinned))
            continue
        fin = bool(t.flags & 0x01)
        cuts, pos = [], 0
        while pos < len(t.payload):
            n = rng.randint(PIECE_MIN, PIECE_MAX)
            cuts.append((pos, min(pos + n, len(t.payload))))
            pos += n
        pieces = []
        for i, (a, z) in enumerate(cuts):
            last = i == len(cuts) - 1
            pieces.append(t.with_payload(b, t.seq + a, t.payload[a:z], fin and last))
        extra = []
        for i, (a, z) in enumerate(cuts):
            if rng.random() < DUP_RATE:
                extra.append(pieces[i])
            if rng.random() < DUP_RATE:  # overlapping re-send of neighbours
                j = min(len(cuts), i + rng.randint(2, 4))
                za = cuts[j - 1][1]
                extra.append(t.with_payload(b, t.seq + a, t.payload[a:za], fin and j == len(cuts)))
        for p in pieces + extra:
            out.append(([sec, sub, p, len(p)], frame, False))
    # shuffle within windows of WINDOW packets between pinned ones
    res, run = [], []

    def flush():
        for i in range(0, len(run), WINDOW):
            w = run[i:i + WINDOW]
            rng.shuffle(w)
            res.extend(w)
        run.clear()

    for item in out:
        if item[2]:
            flush()
            res.append(item)
        else:
            run.append(item)
    flush()
    return res


def run_ek(ek, pcap, keylog, tmp, tag):
    tl, fd = os.path.join(tmp, tag + ".csv"), os.path.join(tmp, tag + "-f.csv")
    cmd = [ek, "-q", "-o", tl, "--findings", fd, pcap] + (["--keylog", keylog] if keylog else [])
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    with open(tl, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(fd, newline="") as f:
        findings = list(csv.DictReader(f))
    return rows, findings


MASK = [(re.compile(r"\bframes? \d+"), "frame #"), (re.compile(r"\d+(\.\d+)? ?(ms|s)\b"), "# ms")]


def mask(msg):
    for rx, to in MASK:
        msg = rx.sub(to, msg)
    return msg


def by_sender(rows):
    seqs = {}
    for r in rows:
        key = {k: v for k, v in r.items() if k not in ("file", "frame", "time")}
        seqs.setdefault((r["conn"], r["sender"]), []).append((key, int(r["frame"])))
    return seqs


def compare(clean, field, frame_map):
    errs = []
    (crows, cfind), (frows, ffind) = clean, field
    cs, fs = by_sender(crows), by_sender(frows)
    for k in sorted(set(cs) | set(fs)):
        a, b = cs.get(k, []), fs.get(k, [])
        if [x for x, _ in a] != [x for x, _ in b]:
            for i, (x, y) in enumerate(zip(a + [(None, 0)] * len(b), b + [(None, 0)] * len(a))):
                if x[0] != y[0]:
                    errs.append(f"conn {k[0]} {k[1]} row {i}: clean {x[0]} != field {y[0]}")
                    break
            continue
        for (x, cf), (_, ff) in zip(a, b):
            if frame_map[ff] > cf:
                errs.append(f"conn {k[0]} {k[1]} {x['event']}: field frame {ff} carries frame {frame_map[ff]}, "
                            f"after the clean frame {cf}")

    def fkey(r):
        return tuple(sorted((k, mask(v) if k == "message" else v) for k, v in r.items() if k not in ("file", "frame")))

    if sorted(map(fkey, cfind)) != sorted(map(fkey, ffind)):
        errs.append(f"findings differ:\n   clean {sorted(map(fkey, cfind))}\n   field {sorted(map(fkey, ffind))}")
    return errs


def main():
    ek, samples = sys.argv[1], sys.argv[2]
    seeds = [int(s) for s in sys.argv[3:]] or [1, 2, 3]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for pcap in sorted(glob.glob(os.path.join(samples, "*.pcap"))):
            if os.path.basename(pcap) in SKIP or os.path.basename(pcap).startswith(UDP_PREFIXES):
                continue
            keylog = pcap[:-5] + ".keylog"
            keylog = keylog if os.path.exists(keylog) else None
            name = os.path.basename(pcap)
            header, pkts = read_pcap(pcap)
            clean = run_ek(ek, pcap, keylog, tmp, "clean")
            if not clean[0]:
                print(f"FAIL {name}: no timeline rows on the clean file")
                failed += 1
                continue
            for seed in seeds:
                res = stress(pkts, random.Random(f"{name}:{seed}"))
                field = os.path.join(tmp, name)
                write_pcap(field, header, [p for p, _, _ in res])
                frame_map = {i: f for i, (_, f, _) in enumerate(res, 1)}
                errs = compare(clean, run_ek(ek, field, keylog, tmp, "field"), frame_map)
                if errs:
                    failed += 1
                    print(f"FAIL {name} seed {seed} ({len(pkts)} -> {len(res)} packets):")
                    for e in errs[:5]:
                        print("   " + e)
                else:
                    passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
