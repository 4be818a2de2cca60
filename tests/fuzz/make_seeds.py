#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets, made at run time from the
captures in samples/ and (read in place, never copied into the repo)
$EK_SHARED/corpus/public.

    make_seeds.py TARGET OUTDIR [--src DIR] [--shared DIR]

TARGET:
  fuzz_capture  the capture files themselves (pcap/pcapng up to 256 KiB)
  fuzz_tls      one script per TCP connection in the fuzz_tls.c input format
                (cfg byte, then data / gap / FIN / RST ops per direction)
  fuzz_x509     certificates (DER) from samples/pki and from the Certificate
                messages in the captures, their subject/issuer names, and the
                CertificateRequest bodies, in the fuzz_x509.c input format

Standard library only.  Link types: Ethernet (+802.1Q), BSD loopback,
raw IPv4/IPv6, Linux SLL/SLL2.
"""
import argparse
import base64
import glob
import gzip
import hashlib
import os
import re
import struct
import sys

TLS_PORTS = {443, 5061, 2222, 8443, 7001, 7002, 636, 993, 995, 465, 5223, 8444}
MAX_CAPTURE = 256 * 1024
MAX_SCRIPT = 64 * 1024


# ---- reading captures -------------------------------------------------------

def read_bytes(path):
    with open(path, 'rb') as f:
        b = f.read()
    if path.endswith('.gz'):
        try:
            b = gzip.decompress(b)
        except OSError:
            return b''
    return b


def packets(data):
    """(linktype, frame bytes) of a pcap or pcapng file; stops at damage."""
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '<' if magic[0] in (0xd4, 0x4d) else '>'
        link = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
        off = 24
        while off + 16 <= len(data):
            _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
            off += 16
            if incl > 262144 or off + incl > len(data):
                return
            yield link, data[off:off + incl]
            off += incl
    elif magic == b'\x0a\x0d\x0d\x0a':
        off, e, links = 0, '<', []
        while off + 12 <= len(data):
            btype = struct.unpack(e + 'I', data[off:off + 4])[0]
            if btype == 0x0a0d0d0a:
                bom = data[off + 8:off + 12]
                e = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
                links = []
            blen = struct.unpack(e + 'I', data[off + 4:off + 8])[0]
            if blen < 12 or off + blen > len(data):
                return
            body = data[off + 8:off + blen - 4]
            if btype == 1 and len(body) >= 2:
                links.append(struct.unpack(e + 'H', body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                ifid, _, _, cap, _ = struct.unpack(e + 'IIIII', body[:20])
                if ifid < len(links):
                    yield links[ifid], body[20:20 + cap]
            elif btype == 3 and len(body) >= 4 and links:
                yield links[0], body[4:]
            off += blen


def ip_layer(link, f):
    """Bytes starting at the IP header, or None."""
    if link == 1:  # Ethernet
        if len(f) < 14:
            return None
        et, off = struct.unpack('>H', f[12:14])[0], 14
        while et in (0x8100, 0x88a8) and len(f) >= off + 4:
            et, off = struct.unpack('>H', f[off + 2:off + 4])[0], off + 4
        return f[off:] if et in (0x0800, 0x86dd) else None
    if link in (0, 108):  # BSD loopback
        return f[4:]
    if link in (12, 14, 101, 228, 229):
        return f
    if link == 113:  # SLL
        return f[16:] if len(f) >= 16 and struct.unpack('>H', f[14:16])[0] in (0x0800, 0x86dd) else None
    if link == 276:  # SLL2
        return f[20:] if len(f) >= 20 and struct.unpack('>H', f[0:2])[0] in (0x0800, 0x86dd) else None
    return None


def tcp_segment(ip):
    """(src, dst, sport, dport, seq, flags, payload) or None."""
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        if len(ip) < 20 or ip[9] != 6 or ihl < 20:
            return None
        tot = struct.unpack('>H', ip[2:4])[0]
        if struct.unpack('>H', ip[6:8])[0] & 0x3fff:
            return None  # fragment
        src, dst, t = ip[12:16], ip[16:20], ip[ihl:max(tot, ihl) if tot else len(ip)]
    elif v == 6:
        if len(ip) < 40 or ip[6] != 6:
            return None
        plen = struct.unpack('>H', ip[4:6])[0]
        src, dst, t = ip[8:24], ip[24:40], ip[40:40 + plen]
    else:
        return None
    if len(t) < 20:
        return None
    sport, dport, seq = struct.unpack('>HHI', t[:8])
    doff = (t[12] >> 4) * 4
    if doff < 20 or doff > len(t):
        return None
    return src, dst, sport, dport, seq, t[13], bytes(t[doff:])


class Conn:
    def __init__(self, a, b, syn):
        self.ep = [a, b]
        self.syn = syn
        self.next = [None, None]
        self.ops = []
        self.size = 1
        self.streams = [bytearray(), bytearray()]
        self.contiguous = [True, True]

    def add(self, op):
        if self.size + len(op) <= MAX_SCRIPT:
            self.ops.append(op)
            self.size += len(op)


def connections(data):
    conns = {}
    for link, f in packets(data):
        s = tcp_segment(ip_layer(link, f))
        if not s:
            continue
        src, dst, sport, dport, seq, flags, pl = s
        a, b = (src, sport), (dst, dport)
        key = (min(a, b), max(a, b))
        c = conns.get(key)
        if c is None:
            syn = bool(flags & 2)
            if syn and flags & 0x10:  # SYN-ACK first: its receiver is the client
                c = Conn(b, a, True)
            else:
                c = Conn(a, b, syn)
            conns[key] = c
        d = 0 if a == c.ep[0] else 1
        if flags & 2:
            c.next[d] = (seq + 1) & 0xffffffff
        if pl:
            if c.next[d] is None:
                c.next[d] = seq
            delta = (seq - c.next[d]) & 0xffffffff
            if delta >= 0x80000000:  # retransmission / overlap
                back = 0x100000000 - delta
                pl = pl[back:] if back < len(pl) else b''
                delta = 0
            if delta:
                c.add(bytes([d | (4 << 1)]) + struct.pack('>H', delta if delta < 65536 else 0))
                c.contiguous[d] = False
            if pl:
                for i in range(0, len(pl), 65535):
                    ch = pl[i:i + 65535]
                    c.add(bytes([d]) + struct.pack('>H', len(ch)) + ch)
                if c.contiguous[d]:
                    c.streams[d] += pl
            c.next[d] = (c.next[d] + delta + len(pl)) & 0xffffffff
        if flags & 1:
            c.add(bytes([d | (5 << 1)]))
        if flags & 4:
            c.add(bytes([d | (6 << 1)]))
    return list(conns.values())


def script(c, keylog=None):
    """keylog: key log text for the secrets (cfg bit 7, u16 length + text)."""
    cfg = 0x01 if c.syn else 0x00
    if c.ep[0][1] in TLS_PORTS:
        cfg |= 0x04
    if c.ep[1][1] in TLS_PORTS:
        cfg |= 0x08
    keys = b''
    if keylog:
        cfg |= 0x80
        keys = struct.pack('>H', len(keylog[:65535])) + keylog[:65535]
    return bytes([cfg]) + keys + b''.join(c.ops)


def keylog_of(path):
    """The NSS key log next to a capture (F.keylog for F.pcap), else None."""
    k = path.rsplit('.', 1)[0] + '.keylog'
    if os.path.exists(k):
        with open(k, 'rb') as f:
            return f.read()
    return None


# ---- TLS messages out of a reassembled stream -----------------------------------

def handshakes(stream):
    """(type, body) of the plaintext handshake messages at the start of a stream."""
    buf, off = bytearray(), 0
    while off + 5 <= len(stream):
        rt, ver, ln = stream[off], stream[off + 1], struct.unpack('>H', stream[off + 3:off + 5])[0]
        if rt not in (20, 21, 22, 23) or ver != 3 or off + 5 + ln > len(stream):
            break
        if rt == 20 or rt == 23:
            break  # encrypted from here on
        if rt == 22:
            buf += stream[off + 5:off + 5 + ln]
        off += 5 + ln
    out, o = [], 0
    while o + 4 <= len(buf):
        t, ln = buf[o], int.from_bytes(buf[o + 1:o + 4], 'big')
        if o + 4 + ln > len(buf):
            break
        out.append((t, bytes(buf[o + 4:o + 4 + ln])))
        o += 4 + ln
    return out


def certs_of(body):
    """DER certificates of a TLS 1.2 Certificate message body."""
    out = []
    if len(body) < 3:
        return out
    ll, o = int.from_bytes(body[:3], 'big'), 3
    end = min(len(body), 3 + ll)
    while o + 3 <= end:
        cl = int.from_bytes(body[o:o + 3], 'big')
        if o + 3 + cl > end:
            break
        out.append(body[o + 3:o + 3 + cl])
        o += 3 + cl
    return out


# ---- minimal DER walking (names out of certificates) --------------------------------

def tlv(b, o):
    """(tag, header_len, content_len) at o, or None."""
    if o + 2 > len(b):
        return None
    tag, l = b[o], b[o + 1]
    if l < 0x80:
        return tag, 2, l
    n = l & 0x7f
    if n == 0 or n > 4 or o + 2 + n > len(b):
        return None
    return tag, 2 + n, int.from_bytes(b[o + 2:o + 2 + n], 'big')


def names_of(der):
    """Issuer and subject Name DER of a certificate."""
    t = tlv(der, 0)
    if not t:
        return []
    tbs = t[1]
    t = tlv(der, tbs)
    if not t:
        return []
    o, elems = tbs + t[1], []
    end = o + t[2]
    while o < end and len(elems) < 6:
        e = tlv(der, o)
        if not e:
            break
        elems.append(der[o:o + e[1] + e[2]])
        o += e[1] + e[2]
    if elems and elems[0][:1] == b'\xa0':
        elems = elems[1:]  # [0] version
    # serial, signature, issuer, validity, subject
    return [elems[i] for i in (2, 4) if i < len(elems)]


def pem_certs(path):
    try:
        txt = open(path, 'r', errors='replace').read()
    except OSError:
        return []
    out = []
    for m in re.finditer(r'-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----', txt, re.S):
        try:
            out.append(base64.b64decode(''.join(m.group(1).split())))
        except ValueError:
            pass
    return out


# ---- main ---------------------------------------------------------------------------

def capture_files(src, shared):
    pats = [os.path.join(src, 'samples', '*.pcap'), os.path.join(src, 'samples', '*.pcapng')]
    if shared:
        for ext in ('pcap', 'pcapng', 'cap', 'pcap.gz'):
            pats.append(os.path.join(shared, 'corpus', 'public', '**', '*.' + ext))
    files = []
    for p in pats:
        files += glob.glob(p, recursive=True)
    return sorted(set(files))


def write(outdir, blob, seen):
    h = hashlib.sha1(blob).hexdigest()
    if h in seen:
        return
    seen.add(h)
    with open(os.path.join(outdir, h), 'wb') as f:
        f.write(blob)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('target', choices=['fuzz_capture', 'fuzz_tls', 'fuzz_x509'])
    ap.add_argument('outdir')
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--src', default=os.path.dirname(os.path.dirname(here)))
    ap.add_argument('--shared', default=os.environ.get('EK_SHARED', ''))
    ap.add_argument('--max-conns-per-file', type=int, default=40)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    shared = a.shared if a.shared and os.path.isdir(a.shared) else None
    seen = set()
    n_before = len(os.listdir(a.outdir))

    for path in capture_files(a.src, shared):
        data = read_bytes(path)
        if a.target == 'fuzz_capture':
            if 0 < len(data) <= MAX_CAPTURE:
                write(a.outdir, data, seen)
            continue
        conns = [c for c in connections(data) if len(c.ops) > 0]
        keylog = keylog_of(path) if a.target == 'fuzz_tls' else None
        for c in conns[:a.max_conns_per_file]:
            if a.target == 'fuzz_tls':
                if any(len(op) > 3 for op in c.ops):
                    write(a.outdir, script(c), seen)
                    if keylog:
                        write(a.outdir, script(c, keylog), seen)   # decrypted
                continue
            for d in (0, 1):
                for t, body in handshakes(bytes(c.streams[d])):
                    if t == 11:
                        for der in certs_of(body)[:4]:
                            write(a.outdir, b'\x00' + der, seen)
                            write(a.outdir, b'\x0b' + der, seen)
                            for nm in names_of(der):
                                write(a.outdir, b'\x0a' + nm, seen)
                                write(a.outdir, b'\x0e' + nm, seen)
                    elif t == 13:
                        write(a.outdir, b'\x09' + body, seen)   # TLS 1.2 layout
                        write(a.outdir, b'\x01' + body, seen)   # layout guessed
    if a.target == 'fuzz_x509':
        pems = glob.glob(os.path.join(a.src, 'samples', 'pki', '*.crt')) + \
            glob.glob(os.path.join(a.src, 'samples', 'pki', '*.pem'))
        for p in sorted(pems):
            for der in pem_certs(p):
                for mode in (b'\x00', b'\x0b', b'\x0f', b'\x03'):
                    write(a.outdir, mode + der, seen)
                for nm in names_of(der):
                    write(a.outdir, b'\x0a' + nm, seen)
                    write(a.outdir, b'\x06' + nm, seen)
                    write(a.outdir, b'\x0e' + nm, seen)
    n = len(os.listdir(a.outdir)) - n_before
    print(f'make_seeds: {a.target}: {len(seen)} seeds ({n} new) in {a.outdir}', file=sys.stderr)


if __name__ == '__main__':
    main()
