#!/usr/bin/env python3
"""tshark agreement test for ekuscope (python3 stdlib only).

For every capture listed in the public corpus MANIFEST.tsv (key logs are
skipped), tshark -- the reference dissector -- lists every TLS handshake
message it dissects, and ekuscope's CSV is compared with that list as a
multiset of (frame, conn, message type, certificate serials):

  frame   tshark frame.number with two-pass dissection (-2), i.e. the frame
          where TCP/TLS reassembly of the message completes;
  conn    tcp.stream (ekuscope's `conn`), made dense when tshark's counter
          has gaps (streams no packet belongs to: SOCKS creates one for the
          proxied endpoint), since ekuscope numbers connections in order of
          their first packet;
  type    handshake message name as ekuscope spells it (tshark's
          tls.handshake.type mapped to that name; a ServerHello carrying the
          HelloRetryRequest random is HelloRetryRequest);
  serials for Certificate messages, the certificate serial numbers in
          message order, as `openssl x509 -noout -serial` prints them
          (lowercased; negative serials get a leading '-').  The serial is
          tshark's x509af.serialNumber (INTEGER content octets, e.g.
          "00:99:fa:..") reduced to its magnitude as OpenSSL does; checked
          against `openssl x509 -serial` for all 179 distinct certificates
          of the corpus.  A certificate without a serial in tshark's tree
          falls back to reading the DER, else counts as "?".

SSLv2 records: tshark puts their message type straight into tls.record;
the SSLv2-compatible CLIENT-HELLO counts as ClientHello, other SSLv2
messages keep names of their own (SSLv2:ServerHello, ...).

Only handshake messages take part: ChangeCipherSpec, Alert, TCP events and
ekuscope's EncryptedHandshake rows (tshark's "Encrypted Handshake Message",
which has no tls.handshake.type) are ignored on both sides.

DTLS (UDP): conn is "u" + udp.stream (ekuscope's UDP flow ids).  A tshark
dtls.handshake counts as a message when it is whole (fragment_offset 0,
fragment_length = length) or when its record carries dtls.fragments (the
fragment that completed a reassembly, where tshark puts the message); the
other fragments are not messages.  DTLS messages are compared like TLS ones
and also counted apart (dtls=N).

tshark settings: -n -2, tcp.reassemble_out_of_order:TRUE, TLS found by
tshark's own port table, STARTTLS support and its TLS-over-TCP heuristic
(enabled by default in 4.0).  For connections where ekuscope reports
handshake messages but tshark found no TLS at all, tshark is run a second
time with `-d tcp.port==P,tls` for those connections' server ports, and the
second run's messages are taken for those connections only (forcing a port
to TLS would break tshark's STARTTLS dissection of other connections).
pcapng Decryption Secrets Blocks are stripped first (editcap
--discard-all-secrets) and both tools read the stripped file: this test
compares the dissectors without keys;
key log files are given to neither.

--keylog-mode compares the decrypted views instead: only the captures that
come with a key log (MANIFEST column `keylog`) or carry Decryption Secrets
Blocks take part; tshark runs with `-o tls.keylog_file:KEYLOG` on the file as
it is, ekuscope with `--keylog KEYLOG` (secrets blocks are read by both).
The counts are also given per cipher suite (the IANA name in ekuscope's
ServerHello row of the connection).  Its differences are explained by
tests/tshark_expectations_keylog.tsv.

Where tshark 4.0 is wrong about the bytes, tshark_corrections.tsv corrects
its list (--corrections; none in --keylog-mode): per line file, conn,
message type, tshark's frame (or none: tshark shows no such message), the
frame the bytes show, the check, and the reason with the byte evidence.
Every correction is checked on the bytes by tshark_bytes.py, which uses
only tshark's per-packet fields (tcp.seq and tcp.payload; OpenVPN's
packet-ids and payloads), puts them in order and reads the TLS records
itself -- never ekuscope.  A verified correction moves (or adds) the
message in the corrected reference; one the bytes do not confirm is not
applied and fails the run.  Two figures are printed: matched against
tshark as it is, and against the corrected reference; the per-file
only-tshark/only-ekuscope/other counts and the expectations are about the
corrected reference.  --target P / --subset-target P fail the run below
P% matched (the corpus / the DTLS and OpenVPN captures: tshark finds DTLS
in them, or their path names openvpn), measured on the corrected reference
when every correction is verified, else on tshark as it is.

Differences are matched against the expectations file (TSV:
file<TAB>kind<TAB>reason, '#' comments).  `kind` is a glob (fnmatch)
matched against the difference keys printed by this script:

  only-tshark:frame=F:conn=C:type=T        tshark has it, ekuscope does not
  only-ekuscope:frame=F:conn=C:type=T      ekuscope has it, tshark does not
  serials:frame=F:conn=C:type=Certificate  same message, different serials
  frame:conn=C:type=T:tshark=F1:ekuscope=F2  same message, different frame
  type:frame=F:conn=C:tshark=T1:ekuscope=T2  same place, different type

(an ekuscope Certificate row whose detail says "malformed" counts as the
serial list [<malformed>]; an empty cert_serial in a certificate row as "?",
like a certificate tshark's x509 dissector found no serialNumber in.)

e.g. `only-tshark:*`, `only-ekuscope:frame=5:*`.  The exit status is 1 when a
difference is matched by no expectation (or on a hard error), else 0.

Usage:
  tshark_agreement.py [--ekuscope BIN] [--shared DIR] [--expectations TSV]
                      [--corrections TSV] [--target PCT] [--subset-target PCT]
                      [--only SUBSTR] [--tshark-only] [--keylog-mode] [-v] [-j N]
"""

import argparse
import collections
import concurrent.futures
import csv
import fnmatch
import glob
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import tshark_bytes

HANDSHAKE_NAMES = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest",
    4: "NewSessionTicket", 5: "EndOfEarlyData", 6: "HelloRetryRequest",
    8: "EncryptedExtensions", 9: "RequestConnectionId", 10: "NewConnectionId", 11: "Certificate", 12: "ServerKeyExchange",
    13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify",
    16: "ClientKeyExchange", 20: "Finished", 21: "CertificateURL",
    22: "CertificateStatus", 23: "SupplementalData", 24: "KeyUpdate",
    25: "CompressedCertificate", 254: "MessageHash",
}
tshark_bytes.HANDSHAKE_TYPES = HANDSHAKE_NAMES
# SSLv2 record-layer message types (tshark puts them straight into
# tls.record as tls.handshake.type).  Only the SSLv2-compatible ClientHello
# maps to a TLS message; the rest keep an SSLv2 name of their own.
SSL2_NAMES = {
    0: "SSLv2:Error", 1: "ClientHello", 2: "SSLv2:ClientMasterKey",
    3: "SSLv2:ClientFinished", 4: "SSLv2:ServerHello", 5: "SSLv2:ServerVerify",
    6: "SSLv2:ServerFinished", 7: "SSLv2:RequestCertificate",
    8: "SSLv2:ClientCertificate",
}
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"

# ekuscope events that are not handshake messages.
NON_HANDSHAKE_EVENTS = {
    "ChangeCipherSpec", "Alert", "EncryptedHandshake", "TcpOpen", "TcpFin",
    "TcpReset", "data_missing", "record_incomplete", "decrypt_failed",
}
KNOWN_HANDSHAKE_EVENTS = set(HANDSHAKE_NAMES.values()) | {"HelloRetryRequest"}

CSV_HEADER = ["file", "frame", "time", "conn", "client", "server", "sender", "version",
              "event", "detail", "cert_index", "cert_serial", "cert_subject", "cert_issuer",
              "cert_eku", "cert_not_before", "cert_not_after", "cert_sha256", "findings"]


class HardError(Exception):
    pass


# ---------------------------------------------------------------------------
# serial numbers

def openssl_serial(content):
    """INTEGER content octets -> what `openssl x509 -serial` prints, lowercased.

    OpenSSL keeps the magnitude (sign octet dropped, negatives negated) and
    i2a_ASN1_INTEGER prints it as two hex digits per octet, '-' first when
    negative, "00" for zero."""
    if not content:
        return ""
    v = int.from_bytes(content, "big", signed=True)
    mag = -v if v < 0 else v
    n = max(1, (mag.bit_length() + 7) // 8)
    return ("-" if v < 0 else "") + mag.to_bytes(n, "big").hex()


def hexbytes(s):
    """tshark FT_BYTES value ("00:99:fa" or "0099fa") -> bytes, None if not hex."""
    t = s.replace(":", "").strip()
    if len(t) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", t):
        return None
    return bytes.fromhex(t)


def der_serial(der):
    """Serial INTEGER content of a DER certificate, or None (fallback when
    tshark's x509 dissector gave no serialNumber)."""
    def tlv(buf, i):
        if i + 2 > len(buf):
            return None
        tag = buf[i]
        ln = buf[i + 1]
        i += 2
        if ln & 0x80:
            k = ln & 0x7f
            if k == 0 or k > 4 or i + k > len(buf):
                return None
            ln = int.from_bytes(buf[i:i + k], "big")
            i += k
        return tag, i, ln

    t = tlv(der, 0)                      # Certificate SEQUENCE
    if not t or t[0] != 0x30:
        return None
    t = tlv(der, t[1])                   # TBSCertificate SEQUENCE
    if not t or t[0] != 0x30:
        return None
    i = t[1]
    t = tlv(der, i)
    if t and t[0] == 0xa0:               # [0] version
        i = t[1] + t[2]
        t = tlv(der, i)
    if not t or t[0] != 0x02 or t[1] + t[2] > len(der):
        return None
    return der[t[1]:t[1] + t[2]]


# ---------------------------------------------------------------------------
# tshark side

def pairs_hook(p):
    return p            # keep JSON objects as ordered (key, value) lists: keys repeat


def first(pairs, key):
    if isinstance(pairs, list):
        for k, v in pairs:
            if k == key:
                return v
    return None


def find_deep(node, key):
    if isinstance(node, list):
        for item in node:
            if isinstance(item, tuple) or (isinstance(item, list) and len(item) == 2
                                           and isinstance(item[0], str)):
                k, v = item
                if k == key:
                    return v
                r = find_deep(v, key)
                if r is not None:
                    return r
    return None


class Msg:
    __slots__ = ("frame", "conn", "type", "serials", "note")

    def __init__(self, frame, conn, typ, serials=None, note=""):
        self.frame, self.conn, self.type = frame, conn, typ
        self.serials = tuple(serials) if serials is not None else None
        self.note = note

    def key(self):
        return (self.frame, self.conn, self.type, self.serials)


def cert_serials(certs_node, stats, proto="tls"):
    """Serials of the certificates of a tls.handshake.certificates tree, in order."""
    out = []
    pending = None      # DER of the last certificate whose tree has not been seen yet
    if not isinstance(certs_node, list):
        return out

    def close(tree):
        sn = find_deep(tree, "x509af.serialNumber") if tree is not None else None
        b = hexbytes(sn) if isinstance(sn, str) else None
        if b is None:
            b = der_serial(pending) if pending is not None else None
            if b is not None:
                stats["serial_from_der"] += 1
        out.append(openssl_serial(b) if b is not None else "?")

    for k, v in certs_node:
        if k == proto + ".handshake.certificate":
            if pending is not None:
                close(None)
            pending = hexbytes(v) if isinstance(v, str) else b""
            if pending is None:
                pending = b""
        elif k == proto + ".handshake.certificate_tree":
            if pending is None:
                pending = b""
            close(v)
            pending = None
    if pending is not None:
        close(None)
    return out


def handshake_msg(hs, frame, conn, stats, proto="tls"):
    typ = first(hs, proto + ".handshake.type")
    if typ is None:
        return None
    try:
        n = int(typ)
    except ValueError:
        return None
    name = HANDSHAKE_NAMES.get(n, "Handshake%d" % n)
    serials = None
    if n == 2:
        rnd = first(hs, proto + ".handshake.random")
        if isinstance(rnd, str) and rnd.replace(":", "").lower() == HRR_RANDOM:
            name = "HelloRetryRequest"
    elif n == 11:
        certs = first(hs, proto + ".handshake.certificates")
        serials = cert_serials(certs, stats, proto) if certs is not None else []
    return Msg(frame, conn, name, serials)


def dtls_int(hs, key):
    v = first(hs, key)
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def dtls_msgs(layer, frame, conn, stats):
    """Whole DTLS handshake messages of a dtls layer: a fragment that is the
    whole message (offset 0, fragment length = length), or the fragment of a
    record whose dtls.fragments says it completed a reassembly."""
    out = []
    if conn is None or not isinstance(layer, list):
        return out
    for k, rec in layer:
        if k != "dtls.record" or not isinstance(rec, list):
            continue
        reassembled = first(rec, "dtls.fragments") is not None
        for k2, hs in rec:
            if k2 != "dtls.handshake" or not isinstance(hs, list):
                continue
            ln = dtls_int(hs, "dtls.handshake.length")
            off = dtls_int(hs, "dtls.handshake.fragment_offset")
            fl = dtls_int(hs, "dtls.handshake.fragment_length")
            whole = off == 0 and fl == ln
            if not (whole or reassembled):
                continue
            m = handshake_msg(hs, frame, conn, stats, "dtls")
            if m is not None:
                out.append(m)
    return out


def parse_tshark_json(data, stats):
    """-> (tls messages, dtls message count, tcp streams with any TLS layer)."""
    pkts = json.loads(data or b"[]", object_pairs_hook=pairs_hook)
    msgs, dtls, tls_streams = [], 0, set()
    for pkt in pkts:
        layers = first(first(pkt, "_source"), "layers")
        if not isinstance(layers, list):
            continue
        frame, conn = None, None
        for lname, layer in layers:
            if lname == "frame":
                frame = int(first(layer, "frame.number"))
            elif lname == "tcp":
                s = first(layer, "tcp.stream")
                if s is not None:
                    conn = int(s)
            elif lname == "udp":
                s = first(layer, "udp.stream")
                conn = "u%d" % int(s) if s is not None else None
            elif lname == "dtls":
                for m in dtls_msgs(layer, frame, conn, stats):
                    dtls += 1
                    msgs.append(m)
            elif lname == "tls":
                if conn is None:
                    continue
                tls_streams.add(conn)
                if not isinstance(layer, list):
                    continue
                for k, rec in layer:
                    if k != "tls.record" or not isinstance(rec, list):
                        continue
                    sslv2 = first(rec, "tls.handshake.type")
                    if sslv2 is not None:
                        # SSLv2 record: the message type sits in the record itself
                        try:
                            n = int(sslv2)
                        except ValueError:
                            continue
                        serials = None
                        if n == 4:
                            serials = cert_serials(rec, stats)
                        msgs.append(Msg(frame, conn, SSL2_NAMES.get(n, "SSLv2:%d" % n), serials,
                                        note="sslv2"))
                        continue
                    for k2, hs in rec:
                        if k2 == "tls.handshake" and isinstance(hs, list):
                            m = handshake_msg(hs, frame, conn, stats)
                            if m is not None:
                                msgs.append(m)
    return msgs, dtls, tls_streams


def tshark_base(path, ports, keylog=None):
    cmd = ["tshark", "-n", "-r", path, "-o", "tcp.reassemble_out_of_order:TRUE"]
    if keylog:
        cmd += ["-o", "tls.keylog_file:" + keylog]
    for p in sorted(ports):
        cmd += ["-d", "tcp.port==%d,tls" % p]
    return cmd


def stream_renumbering(path, ports, keylog=None):
    """tcp.stream -> 0-based rank among the streams that occur in packets.

    Wireshark's tcp.stream counter also advances for conversations some
    dissectors create without any packet of their own (e.g. SOCKS creates
    one for the proxied endpoint), leaving gaps; ekuscope numbers
    connections in order of their first packet.  -> (mapping, gaps)"""
    cmd = tshark_base(path, ports, keylog) + ["-T", "fields", "-E", "occurrence=f", "-e", "tcp.stream"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ids = set()
    for line in r.stdout.decode(errors="replace").split():
        if line.isdigit():
            ids.add(int(line))
    mapping = {s: i for i, s in enumerate(sorted(ids))}
    gaps = sorted(set(range(max(ids) + 1)) - ids) if ids else []
    return mapping, gaps


def run_tshark(path, ports, stats, keylog=None):
    cmd = tshark_base(path, ports, keylog) + ["-2", "-Y", "tls or dtls", "-T", "json",
                                              "-J", "frame tcp udp tls dtls"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0 and not r.stdout:
        raise HardError("tshark failed on %s: %s" % (path, r.stderr.decode(errors="replace").strip()))
    msgs, dtls, streams = parse_tshark_json(r.stdout, stats)
    mapping, gaps = stream_renumbering(path, ports, keylog)
    if gaps:
        for m in msgs:
            m.conn = mapping.get(m.conn, m.conn)
        streams = {mapping.get(s, s) for s in streams}
    return msgs, dtls, streams, gaps


# ---------------------------------------------------------------------------
# ekuscope side

def split_port(endpoint):
    m = re.search(r":(\d+)$", endpoint or "")
    return int(m.group(1)) if m else None


def parse_ekuscope_csv(path):
    """-> (messages, {conn: server port}, unknown event names, {conn: cipher suite})."""
    msgs, ports, unknown, suites = [], {}, set(), {}
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rd = csv.reader(f)
        header = next(rd, None)
        if header is None:
            return msgs, ports, unknown, suites
        if header[:len(CSV_HEADER)] != CSV_HEADER:
            raise HardError("%s: unexpected CSV header %r" % (path, header))
        col = {name: i for i, name in enumerate(header)}
        cur = None          # Certificate message being assembled
        for row in rd:
            if not row:
                continue
            row += [""] * (len(header) - len(row))
            ev = row[col["event"]]
            try:
                frame = int(row[col["frame"]])
                conn = row[col["conn"]]
                conn = conn if conn.startswith("u") else int(conn)   # "u3": UDP flow (udp.stream 3)
            except ValueError:
                continue
            port = split_port(row[col["server"]])
            if port is not None:
                ports.setdefault(conn, port)
            if ev == "ServerHello":
                suites[conn] = (row[col["detail"]].split() or ["?"])[0]
            if ev in NON_HANDSHAKE_EVENTS:
                cur = None
                continue
            if ev not in KNOWN_HANDSHAKE_EVENTS:
                unknown.add(ev)
            if ev == "Certificate":
                idx = row[col["cert_index"]]
                ser = row[col["cert_serial"]].strip().lower()
                ident = (frame, conn, row[col["sender"]])
                if idx in ("", "0") or cur is None or cur[0] != ident:
                    m = Msg(frame, conn, "Certificate", [])
                    msgs.append(m)
                    cur = (ident, m, [])
                if idx != "":
                    cur[2].append(ser if ser else "?")
                elif row[col["detail"]].startswith("malformed"):
                    # body did not parse: no certificate rows at all
                    cur[2].append("<malformed>")
                cur[1].serials = tuple(cur[2])
                continue
            cur = None
            msgs.append(Msg(frame, conn, ev))
    return msgs, ports, unknown, suites


def run_ekuscope(binary, path, tmpdir, tag, keylog=None):
    out = os.path.join(tmpdir, tag + ".csv")
    cmd = [binary, "-o", out] + (["--keylog", keylog] if keylog else []) + [path]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = r.stderr.decode(errors="replace").strip()[:300]
    if r.returncode not in (0, 2):      # 2: input error (reported, CSV may be partial)
        raise HardError("ekuscope exited with %d on %s (crash?): %s" % (r.returncode, path, err))
    if not os.path.exists(out):
        raise HardError("ekuscope wrote no CSV for %s (exit %d): %s" % (path, r.returncode, err))
    return parse_ekuscope_csv(out), r.returncode


# ---------------------------------------------------------------------------
# comparison

def fmt_serials(s):
    if s is None:
        return ""
    return "[" + ",".join(s) + "]"


def compare(tmsgs, emsgs):
    """-> (matched count, list of (diffkey, description))"""
    tc = collections.Counter(m.key() for m in tmsgs)
    ec = collections.Counter(m.key() for m in emsgs)
    matched = sum((tc & ec).values())
    only_t = list((tc - ec).elements())
    only_e = list((ec - tc).elements())
    diffs = []
    # same message, different serials
    for t in list(only_t):
        for e in only_e:
            if t[:3] == e[:3] and t[3] is not None:
                only_t.remove(t)
                only_e.remove(e)
                diffs.append(("serials:frame=%d:conn=%s:type=%s" % t[:3],
                              "tshark %s, ekuscope %s" % (fmt_serials(t[3]), fmt_serials(e[3]))))
                break
    # same frame and connection, different message type
    for t in list(only_t):
        for e in only_e:
            if t[:2] == e[:2] and t[2] != e[2]:
                only_t.remove(t)
                only_e.remove(e)
                diffs.append(("type:frame=%d:conn=%s:tshark=%s:ekuscope=%s" % (t[0], t[1], t[2], e[2]),
                              ""))
                break
    # same message, different frame
    for t in list(only_t):
        for e in only_e:
            if (t[1], t[2], t[3]) == (e[1], e[2], e[3]):
                only_t.remove(t)
                only_e.remove(e)
                diffs.append(("frame:conn=%s:type=%s:tshark=%d:ekuscope=%d" % (t[1], t[2], t[0], e[0]),
                              "serials %s" % fmt_serials(t[3]) if t[3] is not None else ""))
                break
    for t in sorted(only_t, key=lambda k: (k[0], str(k[1]), k[2])):
        diffs.append(("only-tshark:frame=%d:conn=%s:type=%s" % t[:3], fmt_serials(t[3])))
    for e in sorted(only_e, key=lambda k: (k[0], str(k[1]), k[2])):
        diffs.append(("only-ekuscope:frame=%d:conn=%s:type=%s" % e[:3], fmt_serials(e[3])))
    return matched, diffs


def tsv_lines(path):
    """(line number, fields) of a TSV file's lines; '#' comments, blank
    lines and a missing file give none."""
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.strip() and not line.lstrip().startswith("#"):
                yield ln, line.split("\t")


def load_expectations(path):
    exp = []
    for ln, parts in tsv_lines(path):
        if len(parts) < 3 or not parts[2].strip():
            raise HardError("%s:%d: want file<TAB>kind<TAB>reason" % (path, ln))
        exp.append({"file": parts[0], "kind": parts[1], "reason": parts[2], "line": ln, "used": 0})
    return exp


def explain(exp, rel, key):
    for e in exp:
        if fnmatch.fnmatchcase(rel, e["file"]) and fnmatch.fnmatchcase(key, e["kind"]):
            e["used"] += 1
            return e
    return None


# ---------------------------------------------------------------------------
# corrections: where tshark 4.0 is wrong about the bytes

def load_corrections(path):
    """tshark_corrections.tsv: file, conn, type, tshark (frame=F or none),
    bytes (frame=F), check (a tshark_bytes.CHECKS name), reason."""
    out = []
    for ln, p in tsv_lines(path):
        ok = len(p) == 7 and p[6].strip() and re.fullmatch(r"frame=\d+|none", p[3]) \
            and re.fullmatch(r"frame=\d+", p[4]) and p[5] in tshark_bytes.CHECKS
        if not ok:
            raise HardError("%s:%d: want file<TAB>conn<TAB>type<TAB>frame=F|none<TAB>frame=F<TAB>check"
                            "<TAB>reason" % (path, ln))
        conn = p[1] if p[1].startswith("u") else int(p[1])
        out.append({"file": p[0], "conn": conn, "type": p[2], "line": ln, "check": p[5],
                    "tshark": None if p[3] == "none" else int(p[3][6:]), "bytes": int(p[4][6:]),
                    "reason": p[6]})
    return out


def byte_serial(der):
    s = der_serial(der)
    return openssl_serial(s) if s else "?"


def apply_corrections(rel, path, tmsgs, corrections):
    """-> (corrected tshark messages, [(correction, verified, why)]).  Each
    correction is checked on the bytes (tshark_bytes, not ekuscope): the
    bytes must put the message in the corrected frame and not in tshark's;
    a Certificate keeps its serials only if the bytes show the same ones."""
    out = list(tmsgs)
    done = []
    seen = {}
    for c in corrections:
        if c["file"] != rel:
            continue
        key = (c["check"], c["conn"])
        if key not in seen:
            try:
                seen[key] = tshark_bytes.CHECKS[c["check"]](path, c["conn"], byte_serial)
            except Exception as e:  # noqa: reported as an unverified correction
                seen[key] = "%s: %s" % (type(e).__name__, e)
        found = seen[key]
        if isinstance(found, str):
            done.append((c, False, found))
            continue
        at = [m for m in found if m[1] == c["conn"] and m[2] == c["type"]]
        new = [m for m in at if m[0] == c["bytes"]]
        old = next((m for m in out if (m.frame, m.conn, m.type) == (c["tshark"], c["conn"], c["type"])), None)
        why = ""
        if not new:
            why = "the bytes have no %s of conn %s in frame %d (they have it in %s)" % (
                c["type"], c["conn"], c["bytes"], ",".join(str(m[0]) for m in at) or "no frame")
        elif c["tshark"] is not None and any(m[0] == c["tshark"] for m in at):
            why = "the bytes put a %s in tshark's frame %d too" % (c["type"], c["tshark"])
        elif c["tshark"] is not None and old is None:
            why = "tshark shows no %s of conn %s in frame %d" % (c["type"], c["conn"], c["tshark"])
        elif old is not None and old.serials is not None and list(old.serials) != list(new[0][3] or []):
            why = "the bytes show serials %s, tshark %s" % (new[0][3], list(old.serials))
        if why:
            done.append((c, False, why))
            continue
        if old is not None:
            out.remove(old)
        out.append(Msg(c["bytes"], c["conn"], c["type"], new[0][3]))
        done.append((c, True, "bytes: %s in frame %d" % (c["type"], c["bytes"])))
    return out, done


# ---------------------------------------------------------------------------
# driver

def has_secrets_block(path):
    """Does the (pcapng) file carry a Decryption Secrets Block before its packets?"""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError:
        return False
    if data[:4] != b"\x0a\x0d\x0d\x0a" or len(data) < 12:
        return False
    bo = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    o = 0
    while o + 8 <= len(data):
        t, ln = struct.unpack(bo + "II", data[o:o + 8])
        if t == 0x0A:
            return True
        if t in (2, 3, 6) or ln < 12:
            return False
        o += ln
    return False


def read_manifest(shared, keylogs=None):
    """-> (corpus dir, capture paths); keylogs (a dict) gets capture -> key log path."""
    corpus = os.path.join(shared, "corpus", "public")
    man = os.path.join(corpus, "MANIFEST.tsv")
    if not os.path.exists(man):
        raise HardError("no manifest at %s" % man)
    files = []
    with open(man, encoding="utf-8") as f:
        rd = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rd)
        ci = {h: i for i, h in enumerate(header)}
        for row in rd:
            if not row or not row[0]:
                continue
            keylog = row[ci["keylog"]] if "keylog" in ci and len(row) > ci["keylog"] else ""
            if keylog.strip() == "(is a key log)":
                continue
            if keylogs is not None and keylog.strip():
                keylogs[row[0]] = os.path.join(corpus, keylog.strip())
            files.append(row[0])
    return corpus, files


def prepare(corpus, rel, tmpdir, tag):
    """-> (path for ekuscope, path for tshark)"""
    src = os.path.join(corpus, rel)
    if not os.path.exists(src):
        raise HardError("manifest lists %s but it is missing" % src)
    path = src
    if rel.endswith(".gz"):
        path = os.path.join(tmpdir, tag + "." + os.path.basename(rel[:-3]).rsplit(".", 1)[-1])
        with gzip.open(src, "rb") as fi, open(path, "wb") as fo:
            shutil.copyfileobj(fi, fo)
    tpath = path
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"\x0a\x0d\x0d\x0a":           # pcapng: may carry decryption secrets
        tpath = os.path.join(tmpdir, tag + ".nosecrets.pcapng")
        r = subprocess.run(["editcap", "--discard-all-secrets", path, tpath],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise HardError("editcap failed on %s: %s" % (rel, r.stderr.decode(errors="replace")))
    return path, tpath


def process(rel, corpus, tmpdir, tag, binary, keylog_mode=False, keylog=None, corrections=()):
    res = {"rel": rel, "stats": collections.Counter(), "error": None, "suites": {}, "corr": []}
    try:
        epath, tpath = prepare(corpus, rel, tmpdir, tag)
        if keylog_mode:
            tpath = epath     # the decrypted view: secrets blocks kept, the key log given to both
        tmsgs, dtls, tls_streams, gaps = run_tshark(tpath, (), res["stats"], keylog)
        res["dtls"] = dtls
        res["stream_gaps"] = gaps
        res["forced_ports"] = []
        if binary:
            (emsgs, eports, unknown, suites), rc = run_ekuscope(binary, tpath, tmpdir, tag, keylog)
            res["suites"] = suites
            res["ek_rc"] = rc
            res["unknown_events"] = unknown
            econns = {m.conn for m in emsgs}
            tconns = {m.conn for m in tmsgs}
            missing = {c for c in econns if isinstance(c, int) and c not in tconns and c not in tls_streams}
            ports = {eports[c] for c in missing if c in eports}
            if ports:
                t2, _, _, _ = run_tshark(tpath, ports, res["stats"], keylog)
                tmsgs += [m for m in t2 if m.conn in missing]
                res["forced_ports"] = sorted(ports)
            res["ek"] = emsgs
        res["tshark"] = tmsgs
        res["corrected"], res["corr"] = apply_corrections(rel, tpath, tmsgs, corrections)
    except HardError as e:
        res["error"] = str(e)
    except Exception as e:  # noqa: keep going, report per file
        res["error"] = "%s: %r" % (type(e).__name__, e)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ekuscope", default=os.environ.get("EKUSCOPE"))
    ap.add_argument("--shared", default=os.environ.get("EK_SHARED"))
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--expectations", default=None,
                    help="default: tshark_expectations.tsv (tshark_expectations_keylog.tsv with --keylog-mode)")
    ap.add_argument("--corrections", default=None,
                    help="where tshark is wrong about the bytes (default: tshark_corrections.tsv; none with --keylog-mode)")
    ap.add_argument("--target", type=float, default=None,
                    help="fail below this %% of tshark's messages matched (the corrected reference when every "
                         "correction is verified, else tshark's own)")
    ap.add_argument("--subset-target", type=float, default=None,
                    help="the same for the DTLS and OpenVPN captures (tshark finds DTLS, or the path names openvpn)")
    ap.add_argument("--keylog-mode", action="store_true",
                    help="compare the decrypted views of the captures that come with TLS secrets")
    ap.add_argument("--samples", default=None,
                    help="with --keylog-mode: also every DIR/*.pcap that has a DIR/*.keylog (the project's samples)")
    ap.add_argument("--only", action="append", default=[], help="only files whose path contains this")
    ap.add_argument("--tshark-only", action="store_true", help="list tshark's messages, no comparison")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every message")
    ap.add_argument("-j", "--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    a = ap.parse_args()
    if a.expectations is None:
        a.expectations = os.path.join(here, "tshark_expectations_keylog.tsv" if a.keylog_mode
                                      else "tshark_expectations.tsv")
    if a.corrections is None and not a.keylog_mode:
        a.corrections = os.path.join(here, "tshark_corrections.tsv")

    if shutil.which("tshark") is None or shutil.which("editcap") is None:
        print("FAIL: tshark/editcap not found in PATH (install tshark 4.x)", file=sys.stderr)
        return 1
    if not a.shared:
        print("FAIL: set EK_SHARED or --shared", file=sys.stderr)
        return 1
    binary = None if a.tshark_only else a.ekuscope
    if not a.tshark_only:
        if not binary or not os.access(binary, os.X_OK):
            print("FAIL: ekuscope binary not found (EKUSCOPE=%r)" % binary, file=sys.stderr)
            return 1
    ver = subprocess.run(["tshark", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    print("# " + ver.stdout.decode(errors="replace").splitlines()[0])

    try:
        keylogs = {}
        corpus, files = read_manifest(a.shared, keylogs)
        exp = load_expectations(a.expectations)
        corrections = load_corrections(a.corrections)
    except HardError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    if a.only:
        files = [f for f in files if any(s in f for s in a.only)]
    if a.keylog_mode:
        files = [f for f in files if f in keylogs or has_secrets_block(os.path.join(corpus, f))]
        if a.samples:   # absolute paths: os.path.join(corpus, path) keeps them
            for pcap in sorted(glob.glob(os.path.join(os.path.abspath(a.samples), "*.pcap"))):
                if os.path.exists(pcap[:-5] + ".keylog") and (not a.only or any(x in pcap for x in a.only)):
                    files.append(pcap)
                    keylogs[pcap] = pcap[:-5] + ".keylog"

    tmpdir = tempfile.mkdtemp(prefix="ek-tshark-agree.")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            futs = [ex.submit(process, rel, corpus, tmpdir, "f%03d" % i, binary, a.keylog_mode,
                              keylogs.get(rel) if a.keylog_mode else None, corrections)
                    for i, rel in enumerate(files)]
            results = [f.result() for f in futs]
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

    tot = collections.Counter()
    sub = collections.Counter()     # the DTLS and OpenVPN captures (issue 17)
    by_suite = {}
    hard = 0
    unverified = []
    for r in results:
        rel = r["rel"]
        if r["error"]:
            hard += 1
            print("%s: ERROR %s" % (rel, r["error"]))
            continue
        tm = r["tshark"]
        tot["tshark"] += len(tm)
        tot["dtls"] += r["dtls"]
        tot["serial_from_der"] += r["stats"]["serial_from_der"]
        extra = ""
        if r["dtls"]:
            extra += " dtls=%d" % r["dtls"]
        if r["stats"]["serial_from_der"]:
            extra += " serials-from-DER=%d" % r["stats"]["serial_from_der"]
        if r["stream_gaps"]:
            extra += " tshark-stream-gaps=%s(renumbered)" % ",".join(map(str, r["stream_gaps"]))
        if binary is None:
            print("%s: tshark=%d%s" % (rel, len(tm), extra))
            if a.verbose:
                for m in tm:
                    print("    %6d conn=%s %s %s" % (m.frame, m.conn, m.type, fmt_serials(m.serials)))
            continue
        em = r["ek"]
        cm = r["corrected"]
        tot["ekuscope"] += len(em)
        raw_matched = compare(tm, em)[0]
        matched, diffs = compare(cm, em)
        suites = r["suites"]
        for suite in sorted({suites.get(m.conn, "(no ServerHello)") for m in tm + em}):
            st_ = [m for m in tm if suites.get(m.conn, "(no ServerHello)") == suite]
            se_ = [m for m in em if suites.get(m.conn, "(no ServerHello)") == suite]
            by_suite.setdefault(suite, collections.Counter())
            by_suite[suite]["compared"] += len(st_)
            by_suite[suite]["matched"] += compare(st_, se_)[0]
            by_suite[suite]["conns"] += len({m.conn for m in st_ + se_})
        tot["matched"] += raw_matched
        tot["corrected"] += len(cm)
        tot["corrected_matched"] += matched
        if r["dtls"] or "openvpn" in rel.lower():
            sub["tshark"] += len(tm)
            sub["matched"] += raw_matched
            sub["corrected"] += len(cm)
            sub["corrected_matched"] += matched
        if r["forced_ports"]:
            extra += " forced-tls-ports=%s" % ",".join(map(str, r["forced_ports"]))
        if r["ek_rc"] != 0:
            extra += " ekuscope-exit=%d" % r["ek_rc"]
        if r["unknown_events"]:
            extra += " unknown-events=%s" % ",".join(sorted(r["unknown_events"]))
        if r["corr"]:
            extra += " corrected=%d/%d-verified matched-corrected=%d" % (
                sum(1 for _, v, _ in r["corr"] if v), len(r["corr"]), matched)
        n_t = sum(1 for d in diffs if d[0].startswith("only-tshark"))
        n_e = sum(1 for d in diffs if d[0].startswith("only-ekuscope"))
        n_o = len(diffs) - n_t - n_e
        print("%s: tshark=%d ekuscope=%d matched=%d only-tshark=%d only-ekuscope=%d other=%d%s"
              % (rel, len(tm), len(em), raw_matched, n_t, n_e, n_o, extra))
        if a.verbose:
            for m in tm:
                print("    tshark   %6d conn=%s %s %s" % (m.frame, m.conn, m.type, fmt_serials(m.serials)))
            for m in em:
                print("    ekuscope %6d conn=%s %s %s" % (m.frame, m.conn, m.type, fmt_serials(m.serials)))
        for c, ok, why in r["corr"]:
            tot["corrections"] += 1
            tot["verified"] += ok
            if not ok:
                unverified.append((rel, c))
            if a.verbose or not ok:
                print("  %s correction line %d: conn=%s %s tshark=%s bytes=frame=%d: %s"
                      % ("verified" if ok else "UNVERIFIED", c["line"], c["conn"], c["type"],
                         "frame=%d" % c["tshark"] if c["tshark"] is not None else "none", c["bytes"], why))
        # the differences from the corrected reference, grouped by the
        # expectation explaining them
        groups = collections.OrderedDict()
        for key, desc in diffs:
            e = explain(exp, rel, key)
            tot["differ"] += 1
            if e:
                tot["explained"] += 1
                g = groups.setdefault(("expected", e["line"]), {"reason": e["reason"], "items": []})
            else:
                tot["unexplained"] += 1
                g = groups.setdefault(("UNEXPLAINED", key.split(":")[0]),
                                      {"reason": "not in %s" % os.path.basename(a.expectations),
                                       "items": []})
            g["items"].append(key + ((" " + desc) if desc else ""))
        for (status, _), g in groups.items():
            items = g["items"]
            shown = items if (status == "UNEXPLAINED" or a.verbose) else items[:2]
            more = "" if len(shown) == len(items) else " (+%d more)" % (len(items) - len(shown))
            print("  %s x%d: %s" % (status, len(items), g["reason"]))
            for it in shown:
                print("      " + it)
            if more:
                print("      ..." + more)

    if binary is None:
        print("tshark: files=%d handshake-messages=%d of-them-dtls=%d serials-from-DER=%d%s"
              % (len(results) - hard, tot["tshark"], tot["dtls"], tot["serial_from_der"],
                 (" errors=%d" % hard) if hard else ""))
        return 1 if hard else 0

    done = [r["rel"] for r in results]
    for e in exp:
        if not e["used"] and any(fnmatch.fnmatchcase(f, e["file"]) for f in done):
            print("# note: expectation line %d (%s %s) matched nothing" % (e["line"], e["file"], e["kind"]))
    for c in corrections:
        if c["file"] in done and not any(c is x for r in results for x, _, _ in r.get("corr", [])):
            print("# note: correction line %d (%s) matched nothing" % (c["line"], c["file"]))
    if a.keylog_mode:
        print("by cipher suite (tshark messages compared / matched, connections):")
        for suite, c in sorted(by_suite.items()):
            print("  %-45s compared=%d matched=%d conns=%d" % (suite, c["compared"], c["matched"], c["conns"]))

    def pct(m, n):
        return 100.0 * m / n if n else 100.0

    all_verified = tot["verified"] == tot["corrections"]
    counts = "differ=%d explained=%d unexplained=%d" % (tot["differ"], tot["explained"], tot["unexplained"])
    print("tshark agreement%s: compared=%d matched=%d (%.2f%%)%s"
          % (" (decrypted, --keylog-mode)" if a.keylog_mode else "", tot["tshark"], tot["matched"],
             pct(tot["matched"], tot["tshark"]), "" if corrections else " " + counts)
          + (" errors=%d" % hard if hard else ""))
    if corrections:
        print("corrected reference (tshark with %d corrections, %d verified on the bytes): compared=%d matched=%d "
              "(%.2f%%) %s" % (tot["corrections"], tot["verified"], tot["corrected"], tot["corrected_matched"],
                               pct(tot["corrected_matched"], tot["corrected"]), counts))
    if sub["tshark"]:
        print("DTLS and OpenVPN captures: compared=%d matched=%d (%.2f%%)"
              % (sub["tshark"], sub["matched"], pct(sub["matched"], sub["tshark"]))
              + ("; corrected reference: compared=%d matched=%d (%.2f%%)"
                 % (sub["corrected"], sub["corrected_matched"], pct(sub["corrected_matched"], sub["corrected"]))
                 if corrections else ""))
    fail = bool(tot["unexplained"] or hard or unverified)
    if unverified:
        print("FAIL: %d correction(s) not verified on the bytes" % len(unverified))
    # the target holds for the corrected reference only when the bytes
    # confirmed every correction; otherwise for tshark as it is
    for name, target, c in (("corpus", a.target, tot), ("DTLS and OpenVPN", a.subset_target, sub)):
        if target is None:
            continue
        n, m, which = ((c["corrected"], c["corrected_matched"], "corrected reference") if all_verified
                       else (c["tshark"], c["matched"], "tshark as it is"))
        ok = pct(m, n) >= target
        print("target %s: %.2f%% of %s >= %.2f%%: %s" % (name, pct(m, n), which, target, "ok" if ok else "FAIL"))
        fail |= not ok
    return 1 if fail else 0

if __name__ == "__main__":
    sys.exit(main())
