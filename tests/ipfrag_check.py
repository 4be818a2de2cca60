#!/usr/bin/env python3
"""IP fragment reassembly test (python3 stdlib only).

Every sample (samples/*.pcap) is written again with each TCP packet's IP
datagram cut into fragments of 8-64 bytes (IPv4: flags and offset; IPv6:
a Fragment extension header), the fragments of a datagram in random order,
and, for half of the datagrams, one more fragment overlapping 1-3 others:
  - "conflict" files: the overlapping fragment carries garbage, and comes
    after the fragments it overlaps (so the first copy, which ekuscope
    keeps, is the real one);
  - "tshark" files: it carries the same bytes (tshark flags conflicting
    overlaps as errors).
ekuscope must then give, for both, the clean file's timeline rows and
findings exactly, with each row's frame being the frame of the last
fragment of the datagram that completed it (checked through the map from
new frames to the original ones, which must give the clean frame).  On the
"tshark" files, tshark must show the handshake messages in the same frames
as ekuscope (tshark reports a reassembled datagram in the frame of its last
fragment; on the two samples with data missing, where the tools differ
on the clean file already, tshark must agree with itself).  The summary must count the fragments, the datagrams and the
overlaps.  Exit 1 on any difference.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stress_reorder import read_pcap, write_pcap, ipv4_checksum  # noqa: E402

PORTS = (443, 2222, 5061, 7001, 8443)


def l3(b):
    """(offset of the IP header, ethertype) in an Ethernet/VLAN frame."""
    off, et = 12, struct.unpack("!H", b[12:14])[0]
    while et in (0x8100, 0x88A8):
        off += 4
        et = struct.unpack("!H", b[off:off + 2])[0]
    return off + 2, et


def cuts(n, rng):
    out, pos = [], 0
    while pos < n:
        size = 8 * rng.randint(1, 8)
        out.append((pos, min(pos + size, n)))
        pos += size
    return out


def fragment(pkts, rng, conflict, ident):
    """[(packet, original frame)] and the number of fragments/overlaps made."""
    res, nfrag, nover, ndg = [], 0, 0, 0
    for frame, (sec, sub, b, orig) in enumerate(pkts, 1):
        ip, et = l3(b)
        if orig != len(b):
            res.append(([sec, sub, b, orig], frame))
            continue
        if et == 0x0800 and b[ip + 9] == 6 and not struct.unpack("!H", b[ip + 6:ip + 8])[0] & 0x3FFF:
            ihl = (b[ip] & 15) * 4
            end = ip + struct.unpack("!H", b[ip + 2:ip + 4])[0]
            payload, v6 = b[ip + ihl:end], False
        elif et == 0x86DD and b[ip + 6] == 6:
            end = ip + 40 + struct.unpack("!H", b[ip + 4:ip + 6])[0]
            payload, v6 = b[ip + 40:end], True
        else:
            res.append(([sec, sub, b, orig], frame))
            continue
        if len(payload) <= 8:
            res.append(([sec, sub, b, orig], frame))
            continue
        pieces = cuts(len(payload), rng)
        if len(pieces) == 1:  # one piece would be no fragment at all
            res.append(([sec, sub, b, orig], frame))
            continue
        ident += 1
        ndg += 1

        def make(a, z, data):
            more = z < len(payload)
            if v6:
                hdr = bytearray(b[:ip + 40])
                hdr[ip + 6] = 44
                struct.pack_into("!H", hdr, ip + 4, 8 + len(data))
                fh = struct.pack("!BBHI", 6, 0, (a // 8) << 3 | int(more), ident)
                return bytes(hdr) + fh + data
            hdr = bytearray(b[:ip + ihl])
            struct.pack_into("!H", hdr, ip + 2, ihl + len(data))
            struct.pack_into("!H", hdr, ip + 4, ident & 0xFFFF)
            struct.pack_into("!H", hdr, ip + 6, (0x2000 if more else 0) | a // 8)
            struct.pack_into("!H", hdr, ip + 10, 0)
            struct.pack_into("!H", hdr, ip + 10, ipv4_checksum(bytes(hdr[ip:ip + ihl])))
            return bytes(hdr) + data

        frags = [make(a, z, payload[a:z]) for a, z in pieces]
        order = list(range(len(frags)))
        rng.shuffle(order)
        seq = [frags[i] for i in order]
        if len(frags) > 2 and rng.random() < 0.5:
            # overlap 1-3 fragments that all come before the last one
            last = order[-1]
            i = rng.randrange(len(pieces))
            j = min(len(pieces), i + rng.randint(1, 3))
            if not (i <= last < j):
                a, z = pieces[i][0], pieces[j - 1][1]
                data = bytes(rng.randrange(256) for _ in range(z - a)) if conflict else payload[a:z]
                seq.insert(len(seq) - 1, make(a, z, data))
                nover += 1
        nfrag += len(seq)
        res.extend(([sec, sub, f, len(f)], frame) for f in seq)
    return res, nfrag, nover, ndg, ident


def ek(ekuscope, pcap, tmp):
    tl, fd = os.path.join(tmp, "t.csv"), os.path.join(tmp, "f.csv")
    p = subprocess.run([ekuscope, "-o", tl, "--findings", fd, pcap], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"ekuscope {pcap}: exit {p.returncode}: {p.stderr.strip()}")
    with open(tl, newline="") as f:
        rows = [r for r in csv.DictReader(f)]
    with open(fd, newline="") as f:
        finds = [r for r in csv.DictReader(f)]
    return rows, finds, p.stdout


def strip(rows, fmap=None):
    out = []
    for r in rows:
        r = {k: v for k, v in r.items() if k not in ("file", "time")}
        if fmap:
            r["frame"] = str(fmap[int(r["frame"])])
        out.append(r)
    return out


def tshark_frames(pcap):
    cmd = ["tshark", "-n", "-2", "-r", pcap, "-o", "tcp.reassemble_out_of_order:TRUE",
           "-Y", "tls.handshake.type", "-T", "fields", "-e", "frame.number"]
    for p in PORTS:
        cmd[1:1] = ["-d", f"tcp.port=={p},tls"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return sorted({int(x) for x in out.split()})


HS = {"ClientHello", "ServerHello", "HelloRetryRequest", "Certificate", "CertificateRequest",
      "ServerKeyExchange", "ServerHelloDone", "ClientKeyExchange", "CertificateVerify", "Finished",
      "NewSessionTicket", "EncryptedExtensions"}


def main():
    ekuscope, samples = sys.argv[1], sys.argv[2]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL " + what)

    with tempfile.TemporaryDirectory() as tmp:
        for pcap in sorted(glob.glob(os.path.join(samples, "*.pcap"))):
            name = os.path.basename(pcap)
            if name.startswith(("dtls", "openvpn")):
                continue  # UDP samples: the fragmenter cuts TCP segments only (nothing to fragment here)
            header, pkts = read_pcap(pcap)
            crows, cfind, _ = ek(ekuscope, pcap, tmp)
            for mode in ("conflict", "tshark"):
                rng = random.Random(f"{name}:{mode}")
                res, nfrag, nover, ndg, _ = fragment(pkts, rng, mode == "conflict", 0x1000)
                out = os.path.join(tmp, f"{mode}-{name}")
                write_pcap(out, header, [p for p, _ in res])
                fmap = {i: f for i, (_, f) in enumerate(res, 1)}
                rows, finds, text = ek(ekuscope, out, tmp)
                check(strip(rows, fmap) == strip(crows), f"{name} ({mode}): timeline differs from the clean file")
                # findings: the clean ones, frames (also in messages) through the map
                mapped = [dict(r, message=re.sub(r"\bframe (\d+)", lambda m: f"frame {fmap[int(m[1])]}", r["message"]))
                          for r in finds]
                check(strip(mapped, fmap) == strip(cfind), f"{name} ({mode}): findings differ")
                want = (f"IP fragments: {nfrag}, reassembled into {ndg} datagrams; {nover} overlapping "
                        f"(first copy kept), 0 datagrams incomplete")
                check(want in text, f"{name} ({mode}): summary lacks '{want}'")
                if mode == "tshark":
                    # where the tools agree on the clean file, they agree on
                    # the fragmented one (else tshark agrees with itself)
                    ek_frames = sorted({int(r["frame"]) for r in rows if r["event"] in HS})
                    ek_clean = sorted({int(r["frame"]) for r in crows if r["event"] in HS})
                    ts, ts_clean = tshark_frames(out), tshark_frames(pcap)
                    if ts_clean == ek_clean:
                        check(ts == ek_frames, f"{name}: tshark's handshake frames differ from ekuscope's")
                    else:
                        check(sorted({fmap[f] for f in ts}) == ts_clean, f"{name}: tshark differs on the fragments")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
