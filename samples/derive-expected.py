#!/usr/bin/env python3
"""derive-expected.py - read ekuscope's sample captures back with tshark and
openssl and write the expectations the golden tests compare against.

    python3 samples/derive-expected.py [SAMPLES_DIR]

For every SAMPLES_DIR/*.pcap it runs

    tshark -r F -2 -T pdml -d tcp.port==443,tls -d tcp.port==2222,tls \
           -d tcp.port==5061,tls -d tcp.port==7001,tls -d tcp.port==8443,tls

(two-pass, so a message is reported in the frame that completes it) and
walks frames, TLS records and handshake messages in order.  The DER of every
certificate tshark shows (tls.handshake.certificate) goes through
`openssl x509 -inform DER -noout -serial -subject -issuer -dates -ext extendedKeyUsage`.
As a cross-check, the serials are compared with those of

    tshark -r F -2 -T fields -e frame.number -e x509af.serialNumber ...

(tshark prints DER integer bytes, so a serial whose top bit is set shows a
leading 00 that openssl does not print).

Writes SAMPLES_DIR/expected.tsv and replaces the generated part of
SAMPLES_DIR/README.md (between the BEGIN/END GENERATED markers).

Then the decrypted view, SAMPLES_DIR/expected-keylog.tsv: every F.pcap that
has a key log F.keylog, read with `-o tls.keylog_file:F.keylog` added, and
every *-dsb.pcapng (secrets inside the file); the same rows, except that
decrypted TLS 1.3 records give their messages and alerts instead of an
EncryptedHandshake row (what ekuscope shows with --keylog).
Only the standard library; needs tshark and openssl on PATH.
"""

import glob
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

TLS_PORTS = (443, 2222, 5061, 7001, 8443)
DECODE = [a for p in TLS_PORTS for a in ("-d", f"tcp.port=={p},tls")]
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
HS_NAMES = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket",
    5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange",
    13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify",
    16: "ClientKeyExchange", 20: "Finished", 22: "CertificateStatus", 24: "KeyUpdate",
}
ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
          42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
          45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter",
          48: "unknown_ca", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
          80: "internal_error", 112: "unrecognized_name", 116: "certificate_required"}
EKU_SHORT = {"TLS Web Server Authentication": "serverAuth",
             "TLS Web Client Authentication": "clientAuth",
             "Any Extended Key Usage": "anyExtendedKeyUsage"}

# Files whose expectations are partial: rows after a hole that crosses TLS
# record boundaries follow tshark's resynchronisation at the next packet.
SUBSET_FILES = {"snaplen-cut-5061.pcap"}

_cert_cache = {}


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


def cert_info(der_hex):
    """serial (lowercase hex as openssl prints it), subject CN, issuer CN, EKU, dates."""
    if der_hex in _cert_cache:
        return _cert_cache[der_hex]
    der = bytes.fromhex(der_hex)
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial", "-subject",
                        "-issuer", "-dates", "-ext", "extendedKeyUsage", "-nameopt", "RFC2253"],
                       input=der, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    out = r.stdout.decode()
    info = {"serial": "?", "subject": "", "issuer": "", "eku": "absent", "not_before": "",
            "not_after": "", "eku_raw": "(no extendedKeyUsage extension)"}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("serial="):
            info["serial"] = line[7:].strip().lower()
        elif line.startswith("subject="):
            info["subject"] = line[8:].strip()
        elif line.startswith("issuer="):
            info["issuer"] = line[7:].strip()
        elif line.startswith("notBefore="):
            info["not_before"] = line[10:].strip()
        elif line.startswith("notAfter="):
            info["not_after"] = line[9:].strip()
        elif line.startswith("X509v3 Extended Key Usage"):
            raw = lines[i + 1].strip()
            info["eku_raw"] = raw
            info["eku"] = ";".join(EKU_SHORT.get(x.strip(), x.strip()) for x in raw.split(","))
    _cert_cache[der_hex] = info
    return info


def cn(dn):
    m = re.search(r"(?:^|,)CN=([^,]*)", dn)
    return m.group(1) if m else dn


def fields(elem, name):
    return [f for f in elem.iter("field") if f.get("name") == name]


def first(elem, name, attr="show"):
    for f in elem.iter("field"):
        if f.get("name") == name:
            return f.get(attr)
    return None


class Row:
    def __init__(self, frame, stream, sender, event, detail="", certs=None):
        self.frame, self.stream, self.sender, self.event = frame, stream, sender, event
        self.detail = detail
        self.certs = certs or []


def packet_fields(pkt):
    d = {}
    for proto in pkt.findall("proto"):
        for f in proto.iter("field"):
            d.setdefault(f.get("name"), f.get("show"))
            if f.get("name") == "tcp.payload":
                d.setdefault("tcp.payload_hex", f.get("value"))
    return d


class RecordWalker:
    """TLS record boundaries of one direction, walked over the captured TCP
    payload bytes, to tell whether a hole falls inside a record (->
    record_incomplete).  After a hole that ends inside the record it cut,
    parsing goes on at that record's end; after a hole that runs past it
    (or cuts a record header), the direction is lost: no guessing."""

    def __init__(self):
        self.pos = 0           # stream offset of the next byte
        self.synced = True
        self.rec_start = 0
        self.hdr = b""         # header bytes of the current record seen so far
        self.rec_end = None    # known once the 5-byte header is complete

    def _roll(self):
        self.rec_start, self.hdr, self.rec_end = self.rec_end, b"", None

    def data(self, offset, b):
        if self.synced:
            i = 0
            while i < len(b):
                if self.rec_end is None:
                    take = b[i:i + 5 - len(self.hdr)]
                    self.hdr += take
                    i += len(take)
                    if len(self.hdr) == 5:
                        self.rec_end = self.rec_start + 5 + int.from_bytes(self.hdr[3:5], "big")
                else:
                    i += min(self.rec_end - (offset + i), len(b) - i)
                if self.rec_end is not None and offset + i == self.rec_end:
                    self._roll()
        self.pos = offset + len(b)

    def hole(self, start, end):
        """Bytes [start, end) are missing.  True when a started record is cut."""
        if not self.synced:
            self.pos = end
            return False
        started = len(self.hdr) > 0
        if started and self.rec_end is not None and end <= self.rec_end:
            if end == self.rec_end:
                self._roll()
        else:
            self.synced = False
        self.pos = end
        return started


def keylog_opts(keylog):
    return ["-o", f"tls.keylog_file:{keylog}"] if keylog else []


def derive(path, keylog=None, keyed=False):
    xml = run(["tshark", "-r", path, "-2", "-T", "pdml"] + keylog_opts(keylog) + DECODE)
    root = ET.fromstring(xml)
    rows, conns = [], {}
    state = {}  # stream -> {"client": (ip, port), "tls13": bool, "enc": set(dirs)}
    for pkt in root.findall("packet"):
        pf = packet_fields(pkt)
        frame = int(pf["frame.number"])
        if "tcp.stream" not in pf:
            continue
        stream = int(pf["tcp.stream"])
        src = pf.get("ip.src") or pf.get("ipv6.src")
        dst = pf.get("ip.dst") or pf.get("ipv6.dst")
        sport, dport = int(pf["tcp.srcport"]), int(pf["tcp.dstport"])
        syn, ack = pf.get("tcp.flags.syn") == "1", pf.get("tcp.flags.ack") == "1"
        fin, rst = pf.get("tcp.flags.fin") == "1", pf.get("tcp.flags.reset") == "1"
        st = state.setdefault(stream, {"client": None, "tls13": False, "enc": set(), "keys": keyed})
        if syn and not ack:
            st["client"] = (src, sport)
            conns[stream] = (src, sport, dst, dport)
            rows.append(Row(frame, stream, "client", "TcpOpen", f"{fmt_ep(src, sport)} -> {fmt_ep(dst, dport)}"))
        if st["client"] is None:
            raise SystemExit(f"{path}: frame {frame}: stream {stream} without SYN")
        sender = "client" if (src, sport) == st["client"] else "server"
        caplen, wirelen = int(pf.get("frame.cap_len", 0)), int(pf.get("frame.len", 0))
        walker = st.setdefault("walker_" + sender, RecordWalker())
        tcp_len = int(pf.get("tcp.len") or 0)
        seg_start = int(pf.get("tcp.seq") or 0) - 1   # relative sequence numbers: data starts at 1
        payload = bytes.fromhex(pf.get("tcp.payload_hex") or "")
        if tcp_len and seg_start > walker.pos:
            rows.append(Row(frame, stream, sender, "data_missing", "previous segment not captured"))
            if walker.hole(walker.pos, seg_start):
                rows.append(Row(frame, stream, sender, "record_incomplete", "record cut by the hole"))
        for proto in pkt.findall("proto"):
            if proto.get("name") != "tls":
                continue
            for rec in proto.findall("field"):
                if rec.get("name") != "tls.record":
                    continue
                rows.extend(record_rows(path, rec, frame, stream, sender, st))
        if tcp_len:
            walker.data(seg_start, payload)
        if caplen < wirelen:
            rows.append(Row(frame, stream, sender, "data_missing",
                            f"snaplen: {wirelen - caplen} bytes of the frame not captured"))
            if tcp_len > len(payload) and walker.hole(seg_start + len(payload), seg_start + tcp_len):
                rows.append(Row(frame, stream, sender, "record_incomplete", "record cut by the snaplen"))
        if fin:
            rows.append(Row(frame, stream, sender, "TcpFin"))
        if rst:
            rows.append(Row(frame, stream, sender, "TcpReset"))
    return rows, conns, len(root.findall("packet"))


def fmt_ep(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def record_rows(path, rec, frame, stream, sender, st):
    out = []
    ctype = first(rec, "tls.record.content_type") or first(rec, "tls.record.opaque_type")
    ctype = int(ctype) if ctype else None
    if ctype == 20:
        out.append(Row(frame, stream, sender, "ChangeCipherSpec"))
    elif ctype == 21:
        desc = first(rec, "tls.alert_message.desc")
        if desc is None:
            out.append(Row(frame, stream, sender, "Alert", "encrypted"))
        else:
            level = first(rec, "tls.alert_message.level")
            lv = {"1": "warning", "2": "fatal"}.get(level, level)
            out.append(Row(frame, stream, sender, "Alert",
                           f"{lv} {ALERTS.get(int(desc), 'alert')}({desc})"))
    elif ctype == 22:
        for hs in rec.findall("field"):
            if hs.get("name") != "tls.handshake":
                continue
            htype = first(hs, "tls.handshake.type")
            if htype is None:
                if sender not in st["enc"]:
                    st["enc"].add(sender)
                    out.append(Row(frame, stream, sender, "EncryptedHandshake", "TLS1.2 Finished (encrypted)"))
                continue
            htype = int(htype)
            hlen = int(first(hs, "tls.handshake.length") or 0)
            if int(hs.get("size")) < hlen + 4:
                continue  # cut short (snaplen): not a complete message
            out.append(handshake_row(hs, htype, frame, stream, sender, st))
    elif ctype == 23:
        if st["tls13"] and sender not in st["enc"] and not st["keys"]:
            st["enc"].add(sender)
            out.append(Row(frame, stream, sender, "EncryptedHandshake", "TLS1.3 encrypted flight"))
    return out


def handshake_row(hs, htype, frame, stream, sender, st):
    name = HS_NAMES.get(htype, f"Handshake{htype}")
    detail, certs = "", []
    if htype == 1:
        sni = first(hs, "tls.handshake.extensions_server_name")
        vers = [f.get("show") for f in fields(hs, "tls.handshake.extensions.supported_version")]
        detail = f"SNI={sni or '-'}"
        if vers:
            detail += " versions=" + ",".join(vname(v) for v in vers)
    elif htype == 2:
        rnd = (first(hs, "tls.handshake.random", "value") or "").lower()
        sv = first(hs, "tls.handshake.extensions.supported_version")
        cs = first(hs, "tls.handshake.ciphersuite", "showname") or ""
        cs = cs.replace("Cipher Suite: ", "").split(" (")[0]
        if sv == "0x0304":
            st["tls13"] = True
        if rnd == HRR_RANDOM:
            name = "HelloRetryRequest"
            grp = first(hs, "tls.handshake.extensions_key_share_selected_group", "showname") or ""
            detail = f"{vname(sv)} {cs} " + grp.replace("Selected Group: ", "selected_group=").split(" (")[0]
        else:
            detail = f"{vname(sv) if sv else vname(first(hs, 'tls.handshake.version'))} {cs}"
    elif htype == 11:
        ders = [f.get("value") for f in fields(hs, "tls.handshake.certificate")]
        certs = [cert_info(d) for d in ders]
        if certs:
            detail = f"{len(certs)} cert(s): " + " <- ".join(cn(c["subject"]) for c in certs)
        else:
            detail = "empty (no certificate)"
    elif htype == 13:
        names = []
        for f in fields(hs, "tls.handshake.dname"):
            m = re.search(r"id-at-commonName=([^,)]*)", f.get("showname", ""))
            names.append(m.group(1) if m else f.get("showname", ""))
        detail = "certificate_authorities: " + (", ".join(names) if names else "(none)")
    return Row(frame, stream, sender, name, detail.strip(), certs)


def vname(v):
    return {"0x0304": "TLS1.3", "0x0303": "TLS1.2", "0x0302": "TLS1.1", "0x0301": "TLS1.0"}.get(v, v or "?")


def norm_serial(s):
    """tshark's x509af.serialNumber (DER integer bytes) -> openssl's spelling."""
    s = s.replace(":", "").lower()
    if len(s) > 2 and s.startswith("00") and int(s[2], 16) >= 8:
        s = s[2:]
    return s


def tshark_serials(path, keylog=None):
    """frame -> sorted serials from `-e x509af.serialNumber` (leading DER 00 removed)."""
    out = run(["tshark", "-r", path, "-2", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
               "-e", "frame.number", "-e", "x509af.serialNumber"] + keylog_opts(keylog) + DECODE).decode()
    res = {}
    for line in out.splitlines():
        fr, _, ser = line.partition("\t")
        if ser:
            res[int(fr)] = sorted(norm_serial(s) for s in ser.split(","))
    return res


def decrypted_summary(path, keylog):
    """With the keylog: frame -> list of 'Type[serials]' tshark decrypts."""
    out = run(["tshark", "-r", path, "-2", "-o", f"tls.keylog_file:{keylog}", "-T", "fields",
               "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number", "-e", "tls.handshake.type",
               "-e", "tls.alert_message.desc", "-e", "x509af.serialNumber"] + DECODE).decode()
    res = []
    for line in out.splitlines():
        fr, types, alerts, sers = (line.split("\t") + ["", "", ""])[:4]
        if not (types or alerts):
            continue
        parts = [HS_NAMES.get(int(t), t) for t in types.split(",") if t]
        if alerts:
            parts += [f"Alert {ALERTS.get(int(a), a)}({a})" for a in alerts.split(",")]
        s = ", ".join(parts)
        if sers:
            s += " [serials " + ", ".join(norm_serial(x) for x in sers.split(",")) + "]"
        res.append((int(fr), s))
    return res


UDP_PREFIXES = ("dtls", "openvpn")


def main():
    here = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__))
    pcaps = sorted(glob.glob(os.path.join(here, "*.pcap")))
    # the UDP samples (DTLS, OpenVPN) have their own: derive-expected-udp.py
    pcaps = [p for p in pcaps if not os.path.basename(p).startswith(UDP_PREFIXES)]
    tsv = ["# ekuscope golden expectations, derived from the capture bytes by samples/derive-expected.py",
           "# (tshark -2 -T pdml for frames/records/messages, openssl x509 -serial for serials).",
           "# columns: file, frame, sender (client|server), event, cert_serials (leaf first,",
           "# lowercase hex as `openssl x509 -noout -serial` prints it; '-' when none).",
           "# Events: TcpOpen (SYN), TcpFin/TcpReset (per packet), data_missing (dropped segment: first",
           "# packet after the hole; snaplen cut: the cut frame), record_incomplete (same frame, right after",
           "# data_missing, when the hole cuts a TLS record whose first byte was captured), one row per",
           "# complete handshake message",
           "# (HelloRetryRequest for a ServerHello with the HRR random), ChangeCipherSpec, Alert",
           "# (plaintext or encrypted TLS1.2), EncryptedHandshake (first encrypted handshake record per",
           "# direction: TLS1.2 Finished after CCS, TLS1.3 first type-23 record after ServerHello).",
           "# TLS1.3 type-23 records after that (tickets, close_notify, encrypted alerts) give no row.",
           "# Rows of one frame are in wire order.  Partial (must-contain) expectations: "
           + ", ".join(sorted(SUBSET_FILES)) + ".",
           "# file\tframe\tsender\tevent\tcert_serials"]
    md = []
    summary = ["| file | frames | TLS | server leaf (serial, EKU) | client leaf (serial, EKU) | alerts |",
               "|---|---:|---|---|---|---|"]
    problems = 0
    for path in pcaps:
        base = os.path.basename(path)
        rows, conns, nframes = derive(path)
        # cross-check serials with -e x509af.serialNumber
        ts = tshark_serials(path)
        mine = {}
        for r in rows:
            if r.certs:
                mine.setdefault(r.frame, []).extend(c["serial"] for c in r.certs)
        mine = {k: sorted(v) for k, v in mine.items()}
        if mine != ts:
            problems += 1
            print(f"derive-expected: {base}: serials differ: pdml+openssl {mine} vs x509af {ts}", file=sys.stderr)
        for r in rows:
            tsv.append("\t".join([base, str(r.frame), r.sender, r.event,
                                  ",".join(c["serial"] for c in r.certs) or "-"]))
        vers = sorted({r.detail.split()[0] for r in rows if r.event == "ServerHello"})
        def leaves(role):
            out = []
            for r in rows:
                if r.event == "Certificate" and r.sender == role:
                    out.append(f"{r.certs[0]['serial']} ({r.certs[0]['eku']})" if r.certs else "empty")
            return "; ".join(out) or ("encrypted" if "TLS1.3" in vers else "-")
        alerts = "; ".join(f"{r.frame}: {r.sender} {r.detail}" for r in rows if r.event == "Alert"
                           and r.detail != "encrypted") or "-"
        summary.append(f"| {base} | {nframes} | {', '.join(vers)} | {leaves('server')} | {leaves('client')} | {alerts} |")
        md.append(f"### {base}\n")
        for s, (cip, cport, sip, sport) in sorted(conns.items()):
            md.append(f"- tcp.stream {s}: client {fmt_ep(cip, cport)} -> server {fmt_ep(sip, sport)}")
        md.append(f"- {nframes} frames" + ("; expectations are partial (must-contain)" if base in SUBSET_FILES else ""))
        md.append("")
        md.append("| frame | event | sender | detail | cert_serial (leaf first) | leaf EKU |")
        md.append("|---:|---|---|---|---|---|")
        for r in rows:
            sers = ", ".join(c["serial"] for c in r.certs)
            eku = r.certs[0]["eku"] if r.certs else ""
            md.append(f"| {r.frame} | {r.event} | {r.sender} | {r.detail} | {sers} | {eku} |")
        certs = []
        for r in rows:
            for c in r.certs:
                if c not in certs:
                    certs.append(c)
        if certs:
            md.append("")
            md.append("Certificates presented (`openssl x509 -noout -serial -subject -issuer -dates -ext extendedKeyUsage`):")
            md.append("")
            for c in certs:
                md.append(f"- `{c['serial']}` CN={cn(c['subject'])}, issuer CN={cn(c['issuer'])}, "
                          f"EKU: {c['eku_raw']}, {c['not_before']} .. {c['not_after']}")
        keylog = path[:-5] + ".keylog"
        if os.path.exists(keylog):
            md.append("")
            md.append(f"Decrypted with `{os.path.basename(keylog)}` (`tshark -o tls.keylog_file:...`), "
                      "handshake messages and alerts per frame (not expected from ekuscope):")
            md.append("")
            for fr, s in decrypted_summary(path, keylog):
                md.append(f"- frame {fr}: {s}")
        md.append("")
    with open(os.path.join(here, "expected.tsv"), "w") as f:
        f.write("\n".join(tsv) + "\n")
    readme = os.path.join(here, "README.md")
    begin, end = "<!-- BEGIN GENERATED: derive-expected.py -->", "<!-- END GENERATED -->"
    text = open(readme).read() if os.path.exists(readme) else f"# samples\n\n{begin}\n{end}\n"
    if begin not in text or end not in text:
        text += f"\n{begin}\n{end}\n"
    pre, rest = text.split(begin, 1)
    _, post = rest.split(end, 1)
    text = (pre + begin + "\n\n## Summary (generated)\n\n" + "\n".join(summary)
            + "\n\nEncrypted alerts (TLS1.2 close_notify after ChangeCipherSpec) are not listed here.\n"
            + "\n## Timelines (generated)\n\n" + "\n".join(md) + "\n" + end + post)
    with open(readme, "w") as f:
        f.write(text)
    print(f"derive-expected: {len(pcaps)} captures, {sum(1 for t in tsv if not t.startswith('#'))} rows -> expected.tsv", file=sys.stderr)

    # the decrypted view: key log files and pcapng Decryption Secrets Blocks
    keyed = [(p, p[:-5] + ".keylog") for p in pcaps if os.path.exists(p[:-5] + ".keylog")]
    keyed += [(p, None) for p in sorted(glob.glob(os.path.join(here, "*-dsb.pcapng")))]
    ktsv = ["# ekuscope golden expectations with TLS secrets, derived by samples/derive-expected.py:",
            "# tshark -2 -T pdml -o tls.keylog_file:F.keylog for F.pcap with a key log F.keylog",
            "# (ekuscope --keylog F.keylog), and tshark -2 -T pdml alone for *-dsb.pcapng, whose",
            "# secrets are inside the file (ekuscope without --keylog).  Same columns and rows as",
            "# expected.tsv, except that decrypted TLS 1.3 records give their handshake messages",
            "# (EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify, Finished,",
            "# NewSessionTicket) and alerts instead of an EncryptedHandshake row.  A sixth column",
            "# gives the level and description of each (decrypted) alert, as ekuscope's detail says it.",
            "# file\tframe\tsender\tevent\tcert_serials\talert"]
    for path, keylog in keyed:
        base = os.path.basename(path)
        rows, _, _ = derive(path, keylog, keyed=True)
        ts = tshark_serials(path, keylog)
        mine = {}
        for r in rows:
            if r.certs:
                mine.setdefault(r.frame, []).extend(c["serial"] for c in r.certs)
        if {k: sorted(v) for k, v in mine.items()} != ts:
            problems += 1
            print(f"derive-expected: {base} (decrypted): serials differ: {mine} vs x509af {ts}", file=sys.stderr)
        for r in rows:
            ktsv.append("\t".join([base, str(r.frame), r.sender, r.event,
                                   ",".join(c["serial"] for c in r.certs) or "-",
                                   r.detail if r.event == "Alert" else "-"]))
    with open(os.path.join(here, "expected-keylog.tsv"), "w") as f:
        f.write("\n".join(ktsv) + "\n")
    print(f"derive-expected: {len(keyed)} captures with secrets -> expected-keylog.tsv", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
