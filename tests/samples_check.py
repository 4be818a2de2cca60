#!/usr/bin/env python3
"""Golden checks of ekuscope on samples/: timeline rows against
samples/expected.tsv (derived from the bytes by tshark + openssl) and
findings against samples/expected-findings.tsv."""
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


def read_tsv(path):
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            yield line.rstrip("\n").split("\t")


def run(pcap, tmp):
    out = os.path.join(tmp, "t.csv")
    fnd = os.path.join(tmp, "f.csv")
    p = subprocess.run([EK, "-q", "-o", out, "--findings", fnd] + TRUST + [pcap],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{pcap}: exit {p.returncode}: {p.stderr.strip()}")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(fnd, newline="") as f:
        findings = list(csv.DictReader(f))
    return rows, findings


def messages(rows):
    """CSV rows -> (frame, sender, event, serials) with certificate rows folded."""
    out = []
    for r in rows:
        idx = r["cert_index"]
        if idx not in ("", "0") and out and out[-1][2] == r["event"] and out[-1][0] == r["frame"]:
            out[-1][3].append(r["cert_serial"])
            continue
        out.append([r["frame"], r["sender"], r["event"], [r["cert_serial"]] if idx != "" else []])
    return [(f, s, e, ",".join(c) if c else "-") for f, s, e, c in out]


def main():
    expected = defaultdict(list)
    for file, frame, sender, event, serials in read_tsv(os.path.join(SAMPLES, "expected.tsv")):
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
            got = messages(rows)
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
            unannotated = [(r["frame"], r["code"]) for r in findings if (r["frame"], r["code"]) not in annotated]
            if file in want_findings and codes != want_findings[file]:
                failed += 1
                print(f"FAIL {file}: findings {sorted(codes)} != expected {sorted(want_findings[file])}")
            elif unannotated:
                failed += 1
                print(f"FAIL {file}: findings not on a timeline row: {unannotated}")
            else:
                passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
