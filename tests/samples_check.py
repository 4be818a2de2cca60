#!/usr/bin/env python3
"""Golden checks of ekuscope on samples/: timeline rows against
samples/expected.tsv (derived from the bytes by tshark + openssl; the UDP
samples: samples/expected-udp.tsv) and
findings against samples/expected-findings.tsv; then the same with the TLS
secrets (--keylog F.keylog, or the secrets block inside F-dsb.pcapng)
against samples/expected-keylog.tsv (tshark -o tls.keylog_file) and
samples/expected-keylog-findings.tsv."""
import csv
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

EK = os.environ["EKUSCOPE"]
SRC = os.environ["EK_SRC"]
SAMPLES = os.path.join(SRC, "samples")
TRUST = ["--public-roots", os.path.join(SAMPLES, "pki/public-root-ca.crt"),
         "--ca-file", os.path.join(SAMPLES, "pki/all-roots.pem")]
PARTIAL = {"snaplen-cut-5061.pcap"}
# raised when the connection ends, which has no timeline row of its own
# (report/rules.c on_unfinished: where.row is NULL)
ROWLESS = {"handshake_unfinished"}


def read_tsv(path):
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            yield line.rstrip("\n").split("\t")


def run(pcap, tmp, extra=()):
    out = os.path.join(tmp, "t.csv")
    fnd = os.path.join(tmp, "f.csv")
    p = subprocess.run([EK, "-q", "-o", out, "--findings", fnd] + TRUST + list(extra) + [pcap],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{pcap}: exit {p.returncode}: {p.stderr.strip()}")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(fnd, newline="") as f:
        findings = list(csv.DictReader(f))
    return rows, findings


def messages(rows, alerts=False):
    """CSV rows -> (frame, sender, event, serials) with certificate rows folded
    (alerts: and the detail of Alert rows as a fifth element, '-' for others)."""
    out = []
    for r in rows:
        idx = r["cert_index"]
        if idx not in ("", "0") and out and out[-1][2] == r["event"] and out[-1][0] == r["frame"]:
            out[-1][3].append(r["cert_serial"])
            continue
        out.append([r["frame"], r["sender"], r["event"], [r["cert_serial"]] if idx != "" else [],
                    r["detail"] if r["event"] == "Alert" else "-"])
    if alerts:
        return [(f, s, e, ",".join(c) if c else "-", d) for f, s, e, c, d in out]
    return [(f, s, e, ",".join(c) if c else "-") for f, s, e, c, d in out]


def check_keyed(tmp):
    """The samples with TLS secrets, decrypted: -> (passed, failed)."""
    expected = defaultdict(list)
    for file, frame, sender, event, serials, alert in read_tsv(os.path.join(SAMPLES, "expected-keylog.tsv")):
        expected[file].append((frame, sender, event, serials, alert))
    want_findings = {f: set() if c == "-" else set(c.split(";"))
                     for f, c in read_tsv(os.path.join(SAMPLES, "expected-keylog-findings.tsv"))}
    passed = failed = 0
    for file in sorted(set(expected) | set(want_findings)):
        path = os.path.join(SAMPLES, file)
        keylog = path.rsplit(".", 1)[0] + ".keylog"
        extra = ["--keylog", keylog] if file.endswith(".pcap") else []   # *-dsb.pcapng: secrets inside
        try:
            rows, findings = run(path, tmp, extra)
        except RuntimeError as e:
            print(f"FAIL {e}")
            failed += 1
            continue
        got = messages(rows, alerts=True)
        want = expected.get(file, [])
        if got == want:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {file} (decrypted): timeline differs:\n" + "\n".join(
                f"   want {w}\n   got  {g}" for w, g in zip(want + [None] * len(got), got + [None] * len(want))
                if w != g))
        codes = {r["code"] for r in findings}
        annotated = {(r["frame"], c) for r in rows for c in r["findings"].split(";") if c}
        unannotated = [(r["frame"], r["code"]) for r in findings
                       if (r["frame"], r["code"]) not in annotated and r["code"] not in ROWLESS]
        if any(r["event"] == "decrypt_failed" for r in rows):
            failed += 1
            print(f"FAIL {file} (decrypted): decrypt_failed rows")
        elif file in want_findings and codes != want_findings[file]:
            failed += 1
            print(f"FAIL {file} (decrypted): findings {sorted(codes)} != expected {sorted(want_findings[file])}")
        elif unannotated:
            failed += 1
            print(f"FAIL {file} (decrypted): findings not on a timeline row: {unannotated}")
        else:
            passed += 1

    # a wrong server secret: one decrypt_failed row (server), the server's
    # handshake stays hidden (certs_encrypted), the client's is decrypted;
    # no handshake_failed is made up from what cannot be seen
    src = os.path.join(SAMPLES, "tls13-mtls-5061.keylog")
    bad = os.path.join(tmp, "wrong.keylog")
    with open(src) as f, open(bad, "w") as g:
        for line in f:
            p = line.split()
            if len(p) == 3 and p[0] == "SERVER_HANDSHAKE_TRAFFIC_SECRET":
                line = "%s %s %s\n" % (p[0], p[1], ("0" if p[2][0] != "0" else "1") + p[2][1:])
            g.write(line)
    try:
        rows, findings = run(os.path.join(SAMPLES, "tls13-mtls-5061.pcap"), tmp, ["--keylog", bad])
        fails = [(r["frame"], r["sender"]) for r in rows if r["event"] == "decrypt_failed"]
        codes = {r["code"] for r in findings}
        certs = [r["cert_serial"] for r in rows if r["event"] == "Certificate"]
        if fails == [("6", "server")] and codes == {"certs_encrypted", "public_ca_clientauth"} and \
                certs == ["2f0000004c869c77c8981becde00000000004c", "1002"]:
            passed += 1
        else:
            failed += 1
            print(f"FAIL tls13-mtls-5061.pcap with a wrong server secret: decrypt_failed {fails}, "
                  f"findings {sorted(codes)}, certificates {certs}")
    except RuntimeError as e:
        print(f"FAIL {e}")
        failed += 1
    return passed, failed


def main():
    expected = defaultdict(list)
    for tsv in ("expected.tsv", "expected-udp.tsv"):   # -udp: DTLS and OpenVPN (derive-expected-udp.py)
        for file, frame, sender, event, serials in read_tsv(os.path.join(SAMPLES, tsv)):
            expected[file].append((frame, sender, event, serials))
    want_findings = {f: set() if c == "-" else set(c.split(";"))
                     for f, c in read_tsv(os.path.join(SAMPLES, "expected-findings.tsv"))}
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for file in sorted(set(expected) | set(want_findings)):
            try:
                rows, findings = run(os.path.join(SAMPLES, file), tmp)
            except RuntimeError as e:
                print(f"FAIL {e}")
                failed += 1
                continue
            # rows come out when the capture settles them: those after a
            # hole the peer ACKed wait for its grace window (README), so
            # compare in frame order (stable: a frame's rows keep theirs)
            got = sorted(messages(rows), key=lambda m: int(m[0]))
            want = expected.get(file, [])
            if file in PARTIAL:
                missing = [w for w in want if w not in got]
                ok = not missing
                why = f"missing rows {missing}"
            else:
                ok = got == want
                why = "timeline differs:\n" + "\n".join(
                    f"   want {w}\n   got  {g}" for w, g in zip(want + [None] * len(got), got + [None] * len(want))
                    if w != g)
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {file}: {why}")
            codes = {r["code"] for r in findings}
            # every finding must also annotate a timeline row of the same frame
            annotated = {(r["frame"], c) for r in rows for c in r["findings"].split(";") if c}
            unannotated = [(r["frame"], r["code"]) for r in findings
                           if (r["frame"], r["code"]) not in annotated and r["code"] not in ROWLESS]
            if file in want_findings and codes != want_findings[file]:
                failed += 1
                print(f"FAIL {file}: findings {sorted(codes)} != expected {sorted(want_findings[file])}")
            elif unannotated:
                failed += 1
                print(f"FAIL {file}: findings not on a timeline row: {unannotated}")
            else:
                passed += 1
        p2, f2 = check_keyed(tmp)
        passed += p2
        failed += f2
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
