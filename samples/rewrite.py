#!/usr/bin/env python3
"""rewrite.py - packet surgery on the loopback captures of ekuscope's samples.

Standard library only.  Reads a classic libpcap file (either byte order,
micro- or nanosecond timestamps), rewrites the TCP/IP packets of the
connections named with --conn, recomputes the IPv4 header checksum and the
TCP checksum of every rewritten packet, and writes a pcap with the same
link type.  Everything else (link header, TCP options, payload bytes,
packet order) is kept as captured.

  --conn SERVER_PORT,CLIENT_IP,CLIENT_PORT,SERVER_IP   (repeatable)
        Packets to SERVER_PORT get src=CLIENT_IP:CLIENT_PORT dst=SERVER_IP;
        packets from SERVER_PORT (the replies) get the reverse.  CLIENT_PORT
        "-" keeps the captured ephemeral port.  IPv6 addresses turn the
        captured IPv4 packets into IPv6 ones (traffic class from the TOS
        byte, flow label 0, hop limit from the TTL; the TCP checksum is
        computed with the IPv6 pseudo-header).
  --mss N
        Re-segment: a TCP segment carrying more than N payload bytes is cut
        into consecutive segments of at most N bytes with consistent
        sequence numbers (PSH and FIN stay on the last piece only; each piece
        keeps the original timestamp, IPv4 ids count up).  The bytes on the
        wire are unchanged, only where segments end.
  --drop-inside-record SENDER:HS_TYPE
        Remove one TCP segment lying strictly inside the first TLS record
        (content type 22) that SENDER ("client" or "server") sends whose
        first handshake message has type HS_TYPE (e.g. server:11 for the
        server's Certificate), so the stream has a hole that is never
        filled.  Among the candidate segments the middle one is dropped.
  --vlan ID
        Insert an 802.1Q tag (priority 0, VLAN ID) in Ethernet frames.
  --time-base YYYY-MM-DDTHH:MM:SS[.ffffff]
        Shift all timestamps (UTC) so that the first packet is at that time;
        time differences between packets are kept.

Applied in the order: --conn, --mss, --drop-inside-record, --vlan,
--time-base.  A summary goes to stderr.
"""

import argparse
import datetime
import ipaddress
import struct
import sys

DLT_NULL, DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL = 0, 1, 101, 113
ETH_IPV4, ETH_IPV6, ETH_VLAN = 0x0800, 0x86DD, 0x8100
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class PcapError(Exception):
    pass


# ---------------------------------------------------------------- pcap I/O

class Pcap:
    def __init__(self):
        self.endian = "<"
        self.nanos = False
        self.version = (2, 4)
        self.thiszone = 0
        self.sigfigs = 0
        self.snaplen = 262144
        self.linktype = DLT_EN10MB
        self.packets = []   # list of Packet


class Packet:
    def __init__(self, ts_sec, ts_frac, data, orig_len):
        self.ts_sec = ts_sec
        self.ts_frac = ts_frac       # micro- or nanoseconds, as the file has them
        self.data = data
        self.orig_len = orig_len
        self.dec = None              # Decoded, for TCP/IP packets we understand


def read_pcap(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 24:
        raise PcapError(f"{path}: too short for a pcap header")
    p = Pcap()
    magic_le = struct.unpack("<I", raw[:4])[0]
    magic_be = struct.unpack(">I", raw[:4])[0]
    for endian, magic in (("<", magic_le), (">", magic_be)):
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            p.endian = endian
            p.nanos = magic == 0xA1B23C4D
            break
    else:
        raise PcapError(f"{path}: not a classic pcap file (pcapng is not supported)")
    vmaj, vmin, p.thiszone, p.sigfigs, p.snaplen, p.linktype = struct.unpack(
        p.endian + "HHiIII", raw[4:24])
    p.version = (vmaj, vmin)
    off = 24
    while off < len(raw):
        if off + 16 > len(raw):
            raise PcapError(f"{path}: truncated record header at offset {off}")
        ts_sec, ts_frac, incl, orig = struct.unpack(p.endian + "IIII", raw[off:off + 16])
        off += 16
        if off + incl > len(raw):
            raise PcapError(f"{path}: truncated packet at offset {off}")
        p.packets.append(Packet(ts_sec, ts_frac, raw[off:off + incl], orig))
        off += incl
    return p


def write_pcap(path, p):
    out = bytearray()
    magic = 0xA1B23C4D if p.nanos else 0xA1B2C3D4
    out += struct.pack(p.endian + "IHHiIII", magic, p.version[0], p.version[1],
                       p.thiszone, p.sigfigs, p.snaplen, p.linktype)
    for pk in p.packets:
        data = pk.dec.build() if pk.dec is not None else pk.data
        orig = len(data) if pk.dec is not None else pk.orig_len
        out += struct.pack(p.endian + "IIII", pk.ts_sec, pk.ts_frac, len(data), orig)
        out += data
    with open(path, "wb") as f:
        f.write(out)


# ------------------------------------------------------------ TCP/IP model

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Decoded:
    """A TCP/IP or UDP/IP packet taken apart so that addresses, ports and
    segment boundaries can change; build() puts it back together."""

    def __init__(self):
        self.proto = 6           # 6 TCP, 17 UDP (seq/ack/flags... unused)
        self.linktype = DLT_EN10MB
        self.link_prefix = b""   # Ethernet: the two MACs; NULL/SLL: header less protocol
        self.vlans = []          # 802.1Q TCIs (Ethernet only)
        self.null_endian = "<"
        self.src = None          # ipaddress objects
        self.dst = None
        self.tos = 0
        self.ttl = 64
        self.ip_id = 0
        self.ip_flags_frag = 0x4000
        self.flow = 0            # IPv6 flow label
        self.sport = 0
        self.dport = 0
        self.seq = 0
        self.ack = 0
        self.flags = 0
        self.window = 0
        self.urg = 0
        self.tcp_options = b""
        self.payload = b""

    def copy(self):
        d = Decoded()
        d.__dict__.update(self.__dict__)
        d.vlans = list(self.vlans)
        return d

    # -- building
    def _tcp(self, src, dst):
        off_words = (20 + len(self.tcp_options)) // 4
        hdr = struct.pack("!HHIIBBHHH", self.sport, self.dport, self.seq & 0xFFFFFFFF,
                          self.ack & 0xFFFFFFFF, off_words << 4, self.flags,
                          self.window, 0, self.urg) + self.tcp_options
        seg = hdr + self.payload
        if self.src.version == 4:
            pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        else:
            pseudo = src + dst + struct.pack("!IxxxB", len(seg), 6)
        c = csum(pseudo + seg)
        return seg[:16] + struct.pack("!H", c) + seg[18:]

    def _udp(self, src, dst):
        seg = struct.pack("!HHHH", self.sport, self.dport, 8 + len(self.payload), 0) + self.payload
        if self.src.version == 4:
            pseudo = src + dst + struct.pack("!BBH", 0, 17, len(seg))
        else:
            pseudo = src + dst + struct.pack("!IxxxB", len(seg), 17)
        c = csum(pseudo + seg) or 0xFFFF
        return seg[:6] + struct.pack("!H", c) + seg[8:]

    def build_l3(self):
        src, dst = self.src.packed, self.dst.packed
        seg = self._udp(src, dst) if self.proto == 17 else self._tcp(src, dst)
        if self.src.version == 4:
            hdr = struct.pack("!BBHHHBBH4s4s", 0x45, self.tos, 20 + len(seg), self.ip_id & 0xFFFF,
                              self.ip_flags_frag, self.ttl, self.proto, 0, src, dst)
            hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
            return hdr + seg
        first = (6 << 28) | (self.tos << 20) | (self.flow & 0xFFFFF)
        return struct.pack("!IHBB16s16s", first, len(seg), self.proto, self.ttl, src, dst) + seg

    def build(self):
        l3 = self.build_l3()
        v4 = self.src.version == 4
        if self.linktype == DLT_EN10MB:
            tags = b"".join(struct.pack("!HH", ETH_VLAN, t) for t in self.vlans)
            return self.link_prefix + tags + struct.pack("!H", ETH_IPV4 if v4 else ETH_IPV6) + l3
        if self.linktype == DLT_NULL:
            return struct.pack(self.null_endian + "I", 2 if v4 else 10) + l3
        if self.linktype == DLT_LINUX_SLL:
            return self.link_prefix + struct.pack("!H", ETH_IPV4 if v4 else ETH_IPV6) + l3
        return l3  # DLT_RAW


def decode(pk, linktype):
    """Decoded for a complete (not snaplen-cut) IPv4/IPv6 TCP or UDP packet, else None."""
    b = pk.data
    if len(b) != pk.orig_len:
        return None
    d = Decoded()
    d.linktype = linktype
    if linktype == DLT_EN10MB:
        if len(b) < 14:
            return None
        d.link_prefix = b[:12]
        off = 12
        etype = struct.unpack("!H", b[off:off + 2])[0]
        while etype in (ETH_VLAN, 0x88A8):
            d.vlans.append(struct.unpack("!H", b[off + 2:off + 4])[0])
            off += 4
            etype = struct.unpack("!H", b[off:off + 2])[0]
        off += 2
    elif linktype == DLT_NULL:
        fam_le = struct.unpack("<I", b[:4])[0]
        d.null_endian = "<" if fam_le < 256 else ">"
        fam = struct.unpack(d.null_endian + "I", b[:4])[0]
        etype = ETH_IPV4 if fam == 2 else ETH_IPV6 if fam in (10, 24, 28, 30) else 0
        off = 4
    elif linktype == DLT_LINUX_SLL:
        d.link_prefix = b[:14]
        etype = struct.unpack("!H", b[14:16])[0]
        off = 16
    elif linktype == DLT_RAW:
        etype = ETH_IPV4 if b[0] >> 4 == 4 else ETH_IPV6
        off = 0
    else:
        return None
    ip = b[off:]
    if etype == ETH_IPV4:
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] not in (6, 17):
            return None
        d.proto = ip[9]
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        d.tos = ip[1]
        d.ip_id = struct.unpack("!H", ip[4:6])[0]
        d.ip_flags_frag = struct.unpack("!H", ip[6:8])[0]
        if d.ip_flags_frag & 0x3FFF:
            return None  # fragment
        d.ttl = ip[8]
        d.src = ipaddress.ip_address(ip[12:16])
        d.dst = ipaddress.ip_address(ip[16:20])
        tcp = ip[ihl:total]
        if len(ip) != total:
            return None  # trailer/padding: leave the packet alone
    elif etype == ETH_IPV6:
        if len(ip) < 40 or ip[6] not in (6, 17):
            return None
        d.proto = ip[6]
        first = struct.unpack("!I", ip[:4])[0]
        d.tos = (first >> 20) & 0xFF
        d.flow = first & 0xFFFFF
        plen = struct.unpack("!H", ip[4:6])[0]
        d.ttl = ip[7]
        d.src = ipaddress.ip_address(ip[8:24])
        d.dst = ipaddress.ip_address(ip[24:40])
        tcp = ip[40:40 + plen]
        if len(ip) != 40 + plen:
            return None
    else:
        return None
    if d.proto == 17:
        if len(tcp) < 8:
            return None
        d.sport, d.dport = struct.unpack("!HH", tcp[:4])
        d.payload = tcp[8:]
        return d
    if len(tcp) < 20:
        return None
    (d.sport, d.dport, d.seq, d.ack, offb, d.flags, d.window, _c,
     d.urg) = struct.unpack("!HHIIBBHHH", tcp[:20])
    thl = (offb >> 4) * 4
    d.tcp_options = tcp[20:thl]
    d.payload = tcp[thl:]
    return d


# -------------------------------------------------------------- operations

class ConnSpec:
    def __init__(self, text):
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError(f"--conn {text!r}: want SERVER_PORT,CLIENT_IP,CLIENT_PORT,SERVER_IP")
        self.server_port = int(parts[0])
        self.client_ip = ipaddress.ip_address(parts[1])
        self.client_port = None if parts[2] == "-" else int(parts[2])
        self.server_ip = ipaddress.ip_address(parts[3])
        if self.client_ip.version != self.server_ip.version:
            raise ValueError(f"--conn {text!r}: client and server addresses of different families")
        self.seen_client_ports = set()


def direction(d, conns):
    """(conn, 'c2s'|'s2c') for a packet of one of the named connections."""
    for c in conns:
        if d.dport == c.server_port and d.sport != c.server_port:
            return c, "c2s"
        if d.sport == c.server_port and d.dport != c.server_port:
            return c, "s2c"
    return None, None


def op_conn(p, conns):
    n = 0
    for pk in p.packets:
        d = pk.dec
        if d is None:
            continue
        c, dr = direction(d, conns)
        if c is None:
            continue
        orig_client_port = d.sport if dr == "c2s" else d.dport
        c.seen_client_ports.add(orig_client_port)
        if c.client_port is not None and len(c.seen_client_ports) > 1:
            raise PcapError(f"server port {c.server_port}: several client ports "
                            f"{sorted(c.seen_client_ports)}; pass CLIENT_PORT '-' to keep them")
        if dr == "c2s":
            d.src, d.dst = c.client_ip, c.server_ip
            if c.client_port is not None:
                d.sport = c.client_port
        else:
            d.src, d.dst = c.server_ip, c.client_ip
            if c.client_port is not None:
                d.dport = c.client_port
        n += 1
    return n


def op_mss(p, mss):
    out, split = [], 0
    for pk in p.packets:
        d = pk.dec
        if d is None or d.proto != 6 or len(d.payload) <= mss:
            out.append(pk)
            continue
        split += 1
        pieces = [d.payload[i:i + mss] for i in range(0, len(d.payload), mss)]
        off = 0
        for i, chunk in enumerate(pieces):
            last = i == len(pieces) - 1
            nd = d.copy()
            nd.payload = chunk
            nd.seq = (d.seq + off) & 0xFFFFFFFF
            nd.ip_id = (d.ip_id + i) & 0xFFFF
            if not last:
                nd.flags &= ~(TCP_FIN | TCP_PSH)
            npk = Packet(pk.ts_sec, pk.ts_frac, b"", 0)
            npk.dec = nd
            out.append(npk)
            off += len(chunk)
    p.packets = out
    return split


def op_drop_inside_record(p, conns, sender, hs_type):
    """Drop the middle TCP segment lying strictly inside the first TLS
    handshake record of `sender` whose first message has type hs_type."""
    want = "s2c" if sender == "server" else "c2s"
    isn = {}
    segs = {}   # (server_port, client_port) -> list of (index, rel_start, rel_end)
    for i, pk in enumerate(p.packets):
        d = pk.dec
        if d is None:
            continue
        c, dr = direction(d, conns)
        if dr != want:
            continue
        key = (c.server_port, d.dport if want == "s2c" else d.sport)
        if d.flags & TCP_SYN:
            isn[key] = d.seq
            continue
        if key not in isn or not d.payload:
            continue
        start = (d.seq - isn[key] - 1) & 0xFFFFFFFF
        segs.setdefault(key, []).append((i, start, start + len(d.payload), d.payload))
    for key, lst in segs.items():
        stream = bytearray()
        for _, start, end, payload in sorted(lst, key=lambda t: t[1]):
            if start > len(stream):
                raise PcapError(f"{key}: input already has a hole at offset {len(stream)}")
            stream[start:end] = payload
        off = 0
        while off + 5 <= len(stream):
            ctype = stream[off]
            rlen = struct.unpack("!H", stream[off + 3:off + 5])[0]
            rs, re_ = off, off + 5 + rlen
            if ctype == 22 and rlen > 0 and stream[off + 5] == hs_type:
                cands = [t for t in lst if t[1] > rs and t[2] < re_]
                if not cands:
                    raise PcapError(f"{key}: no segment lies strictly inside the record "
                                    f"[{rs},{re_}); re-segment with a smaller --mss")
                idx, s0, e0, _ = cands[len(cands) // 2]
                del p.packets[idx]
                return idx + 1, s0, e0, rs, re_
            off = re_
    raise PcapError(f"no {sender} handshake record starting with message type {hs_type}")


def op_vlan(p, vid):
    if p.linktype != DLT_EN10MB:
        raise PcapError("--vlan needs an Ethernet capture")
    for pk in p.packets:
        if pk.dec is None:
            raise PcapError("--vlan: a packet that is not TCP/IP could not be tagged")
        pk.dec.vlans.insert(0, vid & 0x0FFF)


def op_time_base(p, when):
    if not p.packets:
        return
    scale = 10**9 if p.nanos else 10**6
    base = datetime.datetime.fromisoformat(when)
    if base.tzinfo is None:
        base = base.replace(tzinfo=datetime.timezone.utc)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    delta = base - epoch
    target = (delta.days * 86400 + delta.seconds) * scale + delta.microseconds * (scale // 10**6)
    first = p.packets[0].ts_sec * scale + p.packets[0].ts_frac
    shift = target - first
    for pk in p.packets:
        t = pk.ts_sec * scale + pk.ts_frac + shift
        pk.ts_sec, pk.ts_frac = divmod(t, scale)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--conn", action="append", default=[], type=ConnSpec)
    ap.add_argument("--mss", type=int)
    ap.add_argument("--drop-inside-record", metavar="SENDER:HS_TYPE")
    ap.add_argument("--vlan", type=int)
    ap.add_argument("--time-base")
    a = ap.parse_args(argv)

    p = read_pcap(a.input)
    untouched = 0
    for pk in p.packets:
        pk.dec = decode(pk, p.linktype)
        if pk.dec is None:
            untouched += 1
    if a.conn and untouched:
        raise PcapError(f"{untouched} packet(s) are not complete TCP/IP packets; refusing to rewrite")
    msgs = []
    if a.conn:
        msgs.append(f"{op_conn(p, a.conn)} packets readdressed")
        for c in a.conn:
            if not c.seen_client_ports:
                raise PcapError(f"no packet to or from port {c.server_port}")
    if a.mss:
        msgs.append(f"{op_mss(p, a.mss)} segments re-segmented at {a.mss} bytes")
    if a.drop_inside_record:
        if not a.conn:
            raise PcapError("--drop-inside-record needs --conn to tell the directions")
        sender, _, t = a.drop_inside_record.partition(":")
        if sender not in ("client", "server"):
            raise PcapError("--drop-inside-record: SENDER is client or server")
        frame, s0, e0, rs, re_ = op_drop_inside_record(p, a.conn, sender, int(t))
        msgs.append(f"dropped frame {frame} ({sender} stream bytes {s0}..{e0 - 1}, "
                    f"inside record bytes {rs}..{re_ - 1})")
    if a.vlan is not None:
        op_vlan(p, a.vlan)
        msgs.append(f"802.1Q tag {a.vlan} added")
    if a.time_base:
        op_time_base(p, a.time_base)
    write_pcap(a.output, p)
    print(f"rewrite.py: {a.output}: {len(p.packets)} packets; " + "; ".join(msgs), file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (PcapError, ValueError, OSError) as e:
        print(f"rewrite.py: {e}", file=sys.stderr)
        sys.exit(1)
