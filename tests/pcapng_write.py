#!/usr/bin/env python3
"""Writes classic pcap files as pcapng, with what editcap/mergecap do not
write: big-endian sections, one section per input, if_tsresol/if_tsoffset,
the obsolete Packet Block, a Simple Packet Block, a Name Resolution Block,
a custom block (Wireshark numbers it as a frame), a block of an unassigned
type, and a Decryption Secrets Block after a given packet.

  pcapng_write.py OUT IN.pcap... [--be] [--sections] [--tsresol V]
                  [--tsoffset SEC] [--pb N] [--spb-after N] [--extras]
                  [--dsb KEYLOG --dsb-after N]

--extras: an NRB, a custom block and a block of an unassigned type at the
start of each section.
--pb N: every Nth packet as an obsolete Packet Block.  --spb-after N: a
60-byte non-IP frame (an SPB, interface 0) after packet N: later frame
numbers move up by one.  Packets of several inputs go to one section with
one interface each (interleaved by time) unless --sections (one section
per input, in order)."""
import argparse
import struct


def read_pcap(path):
    with open(path, "rb") as f:
        d = f.read()
    magic = d[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit("%s: not a classic pcap" % path)
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    snaplen, linktype = struct.unpack(e + "II", d[16:24])
    pkts, o = [], 24
    while o + 16 <= len(d):
        sec, frac, cap, wire = struct.unpack(e + "IIII", d[o:o + 16])
        pkts.append((sec * 10**9 + (frac if nsec else frac * 1000), wire, d[o + 16:o + 16 + cap]))
        o += 16 + cap
    return linktype & 0xffff, snaplen, pkts


class W:
    def __init__(self, f, be):
        self.f, self.e = f, ">" if be else "<"

    def block(self, btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        self.f.write(struct.pack(self.e + "II", btype, n) + body + struct.pack(self.e + "I", n))

    def opt(self, code, val):
        return struct.pack(self.e + "HH", code, len(val)) + val + b"\0" * (-len(val) % 4)

    def shb(self):
        self.block(0x0A0D0D0A, struct.pack(self.e + "IHHq", 0x1A2B3C4D, 1, 0, -1))

    def idb(self, linktype, snaplen, tsresol, tsoffset):
        opts = self.opt(9, bytes([tsresol]))
        if tsoffset:
            opts += self.opt(14, struct.pack(self.e + "q", tsoffset))
        self.block(1, struct.pack(self.e + "HHI", linktype, 0, snaplen) + opts + self.opt(0, b""))


def units(ns, tsresol):
    """nanoseconds -> if_tsresol units (exact for the resolutions used)"""
    if tsresol & 0x80:
        return ns * (1 << (tsresol & 0x7f)) // 10**9
    return ns * 10**tsresol // 10**9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--be", action="store_true")
    ap.add_argument("--sections", action="store_true")
    ap.add_argument("--tsresol", type=int, default=6)
    ap.add_argument("--tsoffset", type=int, default=0)
    ap.add_argument("--pb", type=int, default=0)
    ap.add_argument("--extras", action="store_true")
    ap.add_argument("--spb-after", type=int, default=0)
    ap.add_argument("--dsb")
    ap.add_argument("--dsb-after", type=int, default=0)
    a = ap.parse_args()
    ins = [read_pcap(p) for p in a.inputs]
    with open(a.out, "wb") as f:
        w = W(f, a.be)
        groups = [[i] for i in range(len(ins))] if a.sections else [list(range(len(ins)))]
        count = 0
        for g in groups:
            w.shb()
            if a.extras:
                w.block(4, w.opt(1, struct.pack(">I", 0x0a000001) + b"host\0") + w.opt(0, b""))  # NRB
                w.block(0x0BAD, struct.pack(w.e + "I", 32473) + b"custom")  # a frame to Wireshark, no packet
                w.block(0x42, b"unassigned block type")  # skipped
            for i in g:
                w.idb(ins[i][0], ins[i][1], a.tsresol, a.tsoffset)
            pk = sorted(((t, k, j, wire, data) for k, i in enumerate(g) for j, (t, wire, data) in enumerate(ins[i][2])))
            for t, ifid, _, wire, data in pk:
                ts = units(t - a.tsoffset * 10**9, a.tsresol)
                count += 1
                if a.pb and count % a.pb == 0:
                    w.block(2, struct.pack(w.e + "HHIIII", ifid, 0, ts >> 32, ts & 0xffffffff, len(data), wire) + data)
                else:
                    w.block(6, struct.pack(w.e + "IIIII", ifid, ts >> 32, ts & 0xffffffff, len(data), wire) + data)
                if a.spb_after and count == a.spb_after:
                    w.block(3, struct.pack(w.e + "I", 60) + b"\xff" * 12 + b"\x88\xb5" + b"\0" * 46)
                if a.dsb and count == a.dsb_after:
                    keys = open(a.dsb, "rb").read()
                    w.block(10, struct.pack(w.e + "II", 0x544c534b, len(keys)) + keys)


if __name__ == "__main__":
    main()
