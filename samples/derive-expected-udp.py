#!/usr/bin/env python3
"""Expected timelines of the UDP samples (DTLS, OpenVPN) -> samples/expected-udp.tsv.

Same columns as expected.tsv: file, frame, sender, event, cert_serials.

DTLS (dtls*.pcap): tshark -2 -T json -d udp.port==P,dtls.  The records of
every datagram, in order: a handshake message counts in the frame where
tshark shows it whole (fragment_offset 0, fragment_length = length) or
reassembled (its record carries dtls.fragments); a message_seq a sender
already sent is a retransmission: its first fragment (offset 0) is a row of
its own with the message's name and no serials (ekuscope: "retransmission
of frame N"), the message is not parsed again; ChangeCipherSpec and Alert records; the first handshake
record of epoch > 0 of a sender is EncryptedHandshake.  Client = the sender
of the first ClientHello.

OpenVPN (openvpn*.pcap): tshark 4.0 takes the OpenVPN-over-UDP packets apart
(opcode, ack array, message packet-id, with -o openvpn.tls_auth... the
--tls-auth HMAC and replay id) but its TLS reassembly across control
packets fails on them (openvpn-reject-no-serverauth-1194.pcap frame 5:
"Ignored Unknown Record" where the CertificateRequest and ServerHelloDone
are).  So the TLS stream is rebuilt here: the TLS bytes of a P_CONTROL_V1
packet are its UDP payload after the header whose fields tshark decoded,
put in message packet-id order per sender (repeated ids dropped); records
and handshake messages are read from that stream, each in the frame whose
packet completed its record.  Client = the sender of the client hard reset.

Serials: `openssl x509 -inform DER -noout -serial` of each certificate, lowercased.
"""
import glob
import json
import os
import subprocess
import sys

HS_NAMES = {0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest",
            4: "NewSessionTicket", 11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
            14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished"}


def pairs(items):
    return items


def tshark_json(path, opts):
    out = subprocess.run(["tshark", "-n", "-r", path, "-2", "-T", "json"] + opts,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    return json.loads(out or b"[]", object_pairs_hook=pairs)


def first(node, key):
    if isinstance(node, list):
        for k, v in node:
            if k == key:
                return v
    return None


def every(node, key):
    return [v for k, v in node if k == key] if isinstance(node, list) else []


def serial(der):
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    s = r.stdout.decode().strip()
    return s.split("=", 1)[1].lower() if "=" in s else "?"


def hexb(s):
    return bytes.fromhex(s.replace(":", "")) if s else b""


def layers(pkt):
    return first(first(pkt, "_source"), "layers")


def endpoint(ls):
    ip = first(ls, "ip") or first(ls, "ipv6")
    udp = first(ls, "udp")
    src = first(ip, "ip.src") or first(ip, "ipv6.src")
    return (src, first(udp, "udp.srcport"))


# --------------------------------------------------------------- DTLS

def derive_dtls(path, port):
    rows, client, seen, enc_seen = [], None, set(), set()
    for pkt in tshark_json(path, ["-d", "udp.port==%d,dtls" % port, "-J", "frame ip ipv6 udp dtls x509af"]):
        ls = layers(pkt)
        frame = int(first(first(ls, "frame"), "frame.number"))
        ep = endpoint(ls)
        for dt in every(ls, "dtls"):
            for rec in every(dt, "dtls.record"):
                ctype = int(first(rec, "dtls.record.content_type") or 0)
                epoch = int(first(rec, "dtls.record.epoch") or 0)
                if ctype == 22 and epoch == 0:
                    reassembled = first(rec, "dtls.fragments") is not None
                    for hs in every(rec, "dtls.handshake"):
                        typ = int(first(hs, "dtls.handshake.type"))
                        ln = int(first(hs, "dtls.handshake.length"))
                        off0 = int(first(hs, "dtls.handshake.fragment_offset")) == 0
                        whole = off0 and int(first(hs, "dtls.handshake.fragment_length")) == ln
                        if typ == 1 and client is None and (whole or reassembled):
                            client = ep
                        sender = "client" if ep == client else "server"
                        key = (sender, first(hs, "dtls.handshake.message_seq"))
                        if key in seen:
                            if off0:   # sent again: its own row, in the frame of its first fragment
                                rows.append((frame, sender, HS_NAMES.get(typ, "Handshake%d" % typ), "-"))
                            continue
                        if not (whole or reassembled):
                            continue
                        seen.add(key)
                        certs = "-"
                        if typ == 11:
                            ders = [hexb(c) for c in every(first(hs, "dtls.handshake.certificates"),
                                                           "dtls.handshake.certificate")]
                            certs = ",".join(serial(d) for d in ders) or "-"
                        rows.append((frame, sender, HS_NAMES.get(typ, "Handshake%d" % typ), certs))
                    continue
                sender = "client" if ep == client else "server"
                if ctype == 22 and sender not in enc_seen:
                    enc_seen.add(sender)
                    rows.append((frame, sender, "EncryptedHandshake", "-"))
                elif ctype == 20:
                    rows.append((frame, sender, "ChangeCipherSpec", "-"))
                elif ctype == 21:
                    rows.append((frame, sender, "Alert", "-"))
    return rows


# ------------------------------------------------------------ OpenVPN

class TlsStream:
    """One direction's TLS bytes -> (event, serials) per record completed."""

    def __init__(self):
        self.buf, self.hs, self.enc, self.enc_seen = b"", b"", False, False

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 5 and len(self.buf) >= 5 + int.from_bytes(self.buf[3:5], "big"):
            n = int.from_bytes(self.buf[3:5], "big")
            typ, body, self.buf = self.buf[0], self.buf[5:5 + n], self.buf[5 + n:]
            if typ == 20:
                out.append(("ChangeCipherSpec", "-"))
                self.enc = True
            elif typ == 21:
                out.append(("Alert", "-"))
            elif typ == 22 and self.enc:
                if not self.enc_seen:
                    out.append(("EncryptedHandshake", "-"))
                self.enc_seen = True
            elif typ == 22:
                self.hs += body
                while len(self.hs) >= 4 and len(self.hs) >= 4 + int.from_bytes(self.hs[1:4], "big"):
                    ln = int.from_bytes(self.hs[1:4], "big")
                    t, msg, self.hs = self.hs[0], self.hs[4:4 + ln], self.hs[4 + ln:]
                    certs = "-"
                    if t == 11:
                        ders, p = [], 3
                        while p + 3 <= len(msg):
                            cl = int.from_bytes(msg[p:p + 3], "big")
                            ders.append(msg[p + 3:p + 3 + cl])
                            p += 3 + cl
                        certs = ",".join(serial(d) for d in ders) or "-"
                    out.append((HS_NAMES.get(t, "Handshake%d" % t), certs))
        return out


def derive_openvpn(path, tls_auth):
    opts = ["-d", "udp.port==1194,openvpn", "-J", "frame ip ipv6 udp openvpn"]
    if tls_auth:
        opts += ["-o", "openvpn.tls_auth_detection_override:TRUE", "-o", "openvpn.tls_auth:TRUE",
                 "-o", "openvpn.tls_auth_hmac_size:32"]
    # the UDP payloads, by frame (not in -J's layers)
    raw = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "udp.payload"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode()
    payload = {int(f): hexb(p) for f, p in (l.split("\t") for l in raw.splitlines() if "\t" in l)}
    rows, client, streams, nxt, held = [], None, {}, {}, {}
    for pkt in tshark_json(path, opts):
        ls = layers(pkt)
        frame = int(first(first(ls, "frame"), "frame.number"))
        ov = first(ls, "openvpn")
        if ov is None:
            continue
        ep = endpoint(ls)
        op = int(first(first(ov, "openvpn.type_tree"), "openvpn.opcode"), 0)
        if op in (1, 7, 10) and client is None:
            client = ep
        if op != 4:          # only P_CONTROL_V1 carries TLS bytes; hard resets take packet-id 0
            if op in (1, 2, 7, 8, 10):
                nxt.setdefault(ep, 1)
            continue
        acks = int(first(ov, "openvpn.mpidarraylength") or 0)
        hmac = hexb(first(ov, "openvpn.hmac") or "")
        hdr = 1 + 8 + (len(hmac) + 8 if hmac else 0) + 1 + 4 * acks + (8 if acks else 0) + 4
        mpid = int(first(ov, "openvpn.mpid"))
        sender = "client" if ep == client else "server"
        st = streams.setdefault(ep, TlsStream())
        q = held.setdefault(ep, {})
        if mpid < nxt.setdefault(ep, mpid) or mpid in q:
            continue       # a retransmission
        q[mpid] = payload[frame][hdr:]
        while nxt[ep] in q:
            for ev, certs in st.feed(q.pop(nxt[ep])):
                rows.append((frame, sender, ev, certs))
            nxt[ep] += 1
    return rows


def main():
    here = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__))
    out = ["# ekuscope golden expectations of the UDP samples, derived by samples/derive-expected-udp.py",
           "# (DTLS: tshark -2 -T json; OpenVPN: tshark's packet fields, TLS stream rebuilt by the script,",
           "# as its docstring says why).  Same columns as expected.tsv:",
           "# file, frame, sender (client|server), event, cert_serials."]
    for path in sorted(glob.glob(os.path.join(here, "dtls*.pcap")) + glob.glob(os.path.join(here, "openvpn*.pcap"))):
        name = os.path.basename(path)
        if name.startswith("dtls"):
            rows = derive_dtls(path, int(name.rsplit("-", 1)[1].split(".")[0]))
        else:
            rows = derive_openvpn(path, "tls-auth" in name)
        out += ["%s\t%d\t%s\t%s\t%s" % ((name,) + r) for r in rows]
    with open(os.path.join(here, "expected-udp.tsv"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
