"""Packet and TLS builders for the malformed-input tests (standard library only).

Ethernet / IPv4 / TCP with correct lengths (checksums zero), classic pcap
and pcapng writers, and TLS records / handshake messages built byte by byte,
so every length can be made to lie.
"""
import base64
import re
import struct

# ---- link / IP / TCP ---------------------------------------------------------------

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


def ip4(s):
    return bytes(int(x) for x in s.split('.'))


def eth_ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload=b''):
    tcp = struct.pack('>HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, ip4(src), ip4(dst)) + tcp
    return b'\x02\x00\x00\x00\x00\x02' + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00' + ip


class Flow:
    """One TCP connection; packets() gives (ts, frame bytes) in order."""

    def __init__(self, client='10.0.0.1', server='10.0.0.2', cport=40000, sport=443, t0=1774353266.0):
        self.c, self.s, self.cport, self.sport = client, server, cport, sport
        self.seq = [1000, 5000]  # client, server
        self.t = t0
        self.pkts = []

    def _emit(self, d, flags, payload=b''):
        src, dst, sp, dp = (self.c, self.s, self.cport, self.sport) if d == 0 else \
            (self.s, self.c, self.sport, self.cport)
        self.t += 0.0001
        self.pkts.append((self.t, eth_ipv4_tcp(src, dst, sp, dp, self.seq[d], self.seq[1 - d], flags, payload)))

    def handshake(self):
        self._emit(0, SYN)
        self.seq[0] += 1
        self._emit(1, SYN | ACK)
        self.seq[1] += 1
        self._emit(0, ACK)
        return self

    def send(self, d, data, mss=1460):
        """d: 0 client, 1 server."""
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            self._emit(d, PSH | ACK, chunk)
            self.seq[d] += len(chunk)
        return self

    def fin(self, d):
        self._emit(d, FIN | ACK)
        self.seq[d] += 1
        return self

    def close(self):
        return self.fin(0).fin(1)


def pcap(pkts, snaplen=262144, linktype=1):
    out = [struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype)]
    for ts, f in pkts:
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        cap = f[:snaplen]
        out.append(struct.pack('<IIII', sec, usec, len(cap), len(f)) + cap)
    return b''.join(out)


def pcap_records(data):
    """(offset of the record header, incl_len) of each record of a little-endian classic pcap."""
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack('<I', data[off + 8:off + 12])[0]
        out.append((off, incl))
        off += 16 + incl
    return out


def pcap_cut_snaplen(data, snaplen):
    """editcap -s SNAPLEN, for a little-endian classic pcap."""
    hdr = bytearray(data[:24])
    struct.pack_into('<I', hdr, 16, snaplen)
    out = [bytes(hdr)]
    for off, incl in pcap_records(data):
        sec, usec, _, orig = struct.unpack('<IIII', data[off:off + 16])
        body = data[off + 16:off + 16 + incl][:snaplen]
        out.append(struct.pack('<IIII', sec, usec, len(body), orig) + body)
    return b''.join(out)


# ---- pcapng --------------------------------------------------------------------------

def ng_block(btype, body):
    pad = (-len(body)) % 4
    total = 12 + len(body) + pad
    return struct.pack('<II', btype, total) + body + b'\0' * pad + struct.pack('<I', total)


def ng_shb():
    return ng_block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))


def ng_idb(linktype=1, snaplen=262144):
    return ng_block(1, struct.pack('<HHI', linktype, 0, snaplen))


def ng_epb(ts, frame, ifid=0):
    us = int(round(ts * 1e6))
    return ng_block(6, struct.pack('<IIIII', ifid, us >> 32, us & 0xffffffff, len(frame), len(frame)) + frame)


# ---- TLS -------------------------------------------------------------------------------

def u8(v):
    return struct.pack('>B', v)


def u16(v):
    return struct.pack('>H', v)


def u24(v):
    return struct.pack('>I', v)[1:]


def record(rtype, body, ver=0x0303):
    return u8(rtype) + u16(ver) + u16(len(body)) + body


def records(rtype, body, ver=0x0303, frag=16384):
    out = b''
    for i in range(0, max(len(body), 1), frag):
        out += record(rtype, body[i:i + frag], ver)
    return out


def hs(htype, body, length=None):
    return u8(htype) + u24(len(body) if length is None else length) + body


def ext(etype, body):
    return u16(etype) + u16(len(body)) + body


def client_hello(sni=None, versions=None):
    exts = b''
    if sni is not None:
        name = u8(0) + u16(len(sni)) + sni
        exts += ext(0, u16(len(name)) + name)
    if versions:
        vl = b''.join(u16(v) for v in versions)
        exts += ext(43, u8(len(vl)) + vl)
    exts += ext(13, u16(4) + u16(0x0403) + u16(0x0804))
    body = u16(0x0303) + bytes(range(32)) + u8(0) + u16(4) + u16(0xc02b) + u16(0x1301) + u8(1) + u8(0)
    body += u16(len(exts)) + exts
    return hs(1, body)


def server_hello(cipher=0xc02b):
    return hs(2, u16(0x0303) + bytes(range(100, 132)) + u8(0) + u16(cipher) + u8(0))


def certificate(ders, list_len=None):
    lst = b''.join(u24(len(d)) + d for d in ders)
    return hs(11, u24(len(lst) if list_len is None else list_len) + lst)


def cert_request(dns=()):
    names = b''.join(u16(len(d)) + d for d in dns)
    return hs(13, u8(1) + u8(64) + u16(4) + u16(0x0403) + u16(0x0804) + u16(len(names)) + names)


def server_hello_done():
    return hs(14, b'')


def pem_to_der(path):
    txt = open(path).read()
    m = re.search(r'-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----', txt, re.S)
    return base64.b64decode(''.join(m.group(1).split()))


def der_serial_hex(der):
    """Serial of a DER certificate as `openssl x509 -serial` prints it, lowercase."""
    def tlv(o):
        tag, l = der[o], der[o + 1]
        if l < 0x80:
            return tag, o + 2, l
        n = l & 0x7f
        return tag, o + 2 + n, int.from_bytes(der[o + 2:o + 2 + n], 'big')
    _, o, _ = tlv(0)          # Certificate
    _, o, _ = tlv(o)          # TBSCertificate
    tag, c, l = tlv(o)
    if tag == 0xa0:           # [0] version
        o = c + l
    tag, c, l = tlv(o)        # serialNumber
    v = int.from_bytes(der[c:c + l], 'big')
    h = '%x' % v
    return ('0' + h if len(h) % 2 else h)
