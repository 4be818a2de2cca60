"""The handshake messages a connection's bytes carry, and the frame that
completes each, computed without ekuscope and without tshark's TLS and
reassembly logic: the check behind tests/tshark_corrections.tsv
(tshark_agreement.py).  python3 stdlib only.

tshark gives only per-packet fields: for TLS over TCP each segment's
tcp.seq and tcp.payload; for OpenVPN over TCP each control packet's
message packet-id (openvpn.mpid) and payload (openvpn.fragment_bytes).
From them this module puts each direction's bytes in order (the first copy
of a byte counts; a byte is there once every byte before it is), reads the
TLS records, and lists each plaintext handshake message (up to the
direction's ChangeCipherSpec) in the frame that completes the record its
last byte is in, with the certificate serials of a Certificate message.

  tls-tcp      TLS over TCP: the stream's bytes are the TLS bytes
  openvpn-tcp  OpenVPN over TCP: the TLS bytes are the P_CONTROL_V1
               payloads in packet-id order (RFC-less, openvpn's ssl.c)
"""

import json
import subprocess

HANDSHAKE_TYPES = None    # set by the caller: type number -> ekuscope's name


def _tshark(path, filt, args):
    cmd = ["tshark", "-n", "-r", path, "-Y", filt] + args
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("tshark failed: %s" % r.stderr.decode(errors="replace").strip())
    return r.stdout.decode(errors="replace")


def _in_order(pieces):
    """pieces: (position, frame, bytes) in capture order -> (bytes, frame per
    byte): the contiguous run from the lowest position, each byte with the
    frame by which it and every byte before it had arrived."""
    if not pieces:
        return b"", []
    base = min(p for p, _, _ in pieces)
    end = max(p + len(b) for p, _, b in pieces)
    buf = bytearray(end - base)
    got = [0] * (end - base)
    for pos, frame, data in pieces:
        o = pos - base
        for i, byte in enumerate(data):
            if not got[o + i]:
                got[o + i] = frame
                buf[o + i] = byte
    out, top = [], 0
    for f in got:
        if not f:
            break
        top = max(top, f)
        out.append(top)
    return bytes(buf[:len(out)]), out


def _serials(body, serial_of):
    """Certificate message body (TLS 1.2 layout, else TLS 1.3's with a
    context) -> serials as `openssl x509 -serial` prints them."""
    for ctx in (0, 1):
        if len(body) < ctx + 3:
            continue
        i = ctx + (body[0] + 1 if ctx else 0)
        if i + 3 > len(body):
            continue
        total = int.from_bytes(body[i:i + 3], "big")
        i += 3
        if i + total != len(body):
            continue
        out = []
        while i + 3 <= len(body):
            n = int.from_bytes(body[i:i + 3], "big")
            der = body[i + 3:i + 3 + n]
            out.append(serial_of(der))
            i += 3 + n
            if ctx:           # TLS 1.3: each entry has extensions
                if i + 2 > len(body):
                    break
                i += 2 + int.from_bytes(body[i:i + 2], "big")
        return out
    return ["?"]


def _messages(data, frames, conn, serial_of):
    """TLS records -> [(frame, conn, type name, serials or None)]."""
    out, hs, i = [], b"", 0
    if data[:1] and data[0] & 0x80:      # SSLv2 framing: not read here
        return out
    while i + 5 <= len(data):
        ct, ln = data[i], int.from_bytes(data[i + 3:i + 5], "big")
        if i + 5 + ln > len(data):
            break
        frame = frames[i + 5 + ln - 1]
        if ct == 20:
            break                        # what follows is encrypted
        if ct == 22:
            hs += data[i + 5:i + 5 + ln]
            while len(hs) >= 4 and 4 + int.from_bytes(hs[1:4], "big") <= len(hs):
                n = int.from_bytes(hs[1:4], "big")
                name = HANDSHAKE_TYPES.get(hs[0], "type%d" % hs[0])
                ser = _serials(hs[4:4 + n], serial_of) if hs[0] == 11 else None
                out.append((frame, conn, name, ser))
                hs = hs[4 + n:]
        i += 5 + ln
    return out


def tls_tcp(path, conn, serial_of):
    text = _tshark(path, "tcp.stream==%d && tcp.len>0" % conn,
                   ["-T", "fields", "-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src",
                    "-e", "tcp.srcport", "-e", "tcp.seq", "-e", "tcp.payload"])
    dirs = {}
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) < 6 or not f[5]:
            continue
        dirs.setdefault((f[1] or f[2], f[3]), []).append(
            (int(f[4]), int(f[0]), bytes.fromhex(f[5].replace(":", ""))))
    out = []
    for pieces in dirs.values():
        out += _messages(*_in_order(pieces), conn, serial_of)
    return out


def _pairs(node, key):
    return [v for k, v in node if k == key] if isinstance(node, list) else []


def openvpn_tcp(path, conn, serial_of):
    text = _tshark(path, "openvpn && tcp.stream==%d" % conn,
                   ["-2", "-o", "tcp.reassemble_out_of_order:TRUE", "-T", "json", "-J", "frame ip tcp openvpn"])
    dirs = {}
    for pkt in json.loads(text or "[]", object_pairs_hook=lambda p: p):
        layers = _pairs(_pairs(pkt, "_source")[0], "layers")[0]
        frame = int(_pairs(_pairs(layers, "frame")[0], "frame.number")[0])
        src = _pairs(_pairs(layers, "ip")[0], "ip.src")[0] if _pairs(layers, "ip") else "?"
        port = _pairs(_pairs(layers, "tcp")[0], "tcp.srcport")[0]
        for ov in _pairs(layers, "openvpn"):
            if _pairs(_pairs(ov, "openvpn.type_tree")[0], "openvpn.opcode") != ["0x04"]:
                continue                 # P_CONTROL_V1 only
            mpid = int(_pairs(ov, "openvpn.mpid")[0])
            frag = [v for k, v in ov if k.startswith("Message fragment")]
            payload = bytes.fromhex(_pairs(frag[0], "openvpn.fragment_bytes")[0].replace(":", "")) if frag else b""
            # pieces keyed by packet-id; each id is one piece, its position the
            # running total of the payloads before it, found below
            dirs.setdefault((src, port), {}).setdefault(mpid, (frame, payload))
    out = []
    for byid in dirs.values():
        pieces, pos = [], 0
        for mpid in range(min(byid), max(byid) + 1):
            if mpid not in byid:
                break
            frame, payload = byid[mpid]
            pieces.append((pos, frame, payload))
            pos += len(payload)
        out += _messages(*_in_order(pieces), conn, serial_of)
    return out


CHECKS = {"tls-tcp": tls_tcp, "openvpn-tcp": openvpn_tcp}
