#!/usr/bin/env python3
"""One file on two threads (cli/handoff.h) writes what one thread writes,
when plaintext connections are found not to be TLS while the capture's
thread is far ahead: the dissector says so after 16 KiB, the capture has
copied megabytes more of them by then, and must drop them, holes too.

The capture: a real TLS sample's packets spread between three plaintext
HTTP-like downloads of 3 MB (1448-byte segments), one of them missing its
20th segment (~29 KB in: past the 16 KiB that decide, and before the
capture's thread can know, since the first block of calls is not even
handed over by then), one reset.
Every output of `ekuscope -j 2` (two threads) must equal `-j 1`'s: the
timeline, findings and certificate CSVs, the report, stderr, the exit
status; and the summary must count the hole only where a serial run does
(not at all) and the four connections.

usage: two_threads_check.py EKUSCOPE SAMPLE.pcap
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'malformed'))
import pcapgen as pg  # noqa: E402


def download(cport, size, drop_at=None, reset=False):
    f = pg.Flow(client='10.9.0.%d' % (cport % 200 + 1), server='10.9.1.1', cport=cport, sport=8080).handshake()
    f.send(0, b'GET /blob HTTP/1.0\r\nHost: 10.9.1.1\r\n\r\n')
    f.fin(0)  # half-closed: once 16 KiB of the answer are not TLS either, the connection is not
    body = bytes((i * 7 + i // 1000) & 0xff for i in range(size))
    f.send(1, b'HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n' % size + body, mss=1448)
    pkts = f.pkts
    if drop_at is not None:
        pkts = [p for i, p in enumerate(pkts) if i != drop_at]
    f.pkts = pkts
    if reset:
        f._emit(1, pg.RST | pg.ACK)
    else:
        f.fin(1)
    return f.pkts


def main():
    ek, sample = sys.argv[1], sys.argv[2]
    with open(sample, 'rb') as fp:
        data = fp.read()
    tls = [data[off + 16:off + 16 + n] for off, n in pg.pcap_records(data)]
    flows = [download(41000, 3 << 20), download(41001, 3 << 20, drop_at=25), download(41002, 3 << 20, reset=True)]
    # round-robin: one packet of each download, a TLS packet every 50 rounds
    frames, t = [], 1774353266.0
    i = 0
    while any(flows) or tls:
        for fl in flows:
            if fl:
                frames.append(fl.pop(0)[1])
        if i % 50 == 0 and tls:
            frames.append(tls.pop(0))
        flows = [fl for fl in flows if fl]
        i += 1
    pkts = []
    for f in frames:
        t += 0.00005
        pkts.append((t, f))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'mixed.pcap')
        with open(path, 'wb') as fp:
            fp.write(pg.pcap(pkts))
        outs = {}
        for j in ('1', '2'):
            d = os.path.join(tmp, 'j' + j)
            os.mkdir(d)
            p = subprocess.run([ek, '-j', j, '-o', 't.csv', '--findings', 'f.csv', '--certs', 'c.csv', path],
                               cwd=d, capture_output=True)
            got = {'report': p.stdout, 'stderr': p.stderr, 'exit': str(p.returncode).encode()}
            for name in ('t.csv', 'f.csv', 'c.csv'):
                with open(os.path.join(d, name), 'rb') as fp:
                    got[name] = fp.read()
            outs[j] = got
        bad = 0
        for k in outs['1']:
            if outs['1'][k] != outs['2'][k]:
                print('FAIL: %s differs between -j 1 and -j 2 (two threads)' % k)
                bad += 1
        report = outs['1']['report'].decode(errors='replace')
        if ', 4 TCP connections, 1 TLS connection\n' not in report:
            print('FAIL: the summary does not count 4 TCP connections, 1 TLS:\n' + report[:600])
            bad += 1
        if 'missing data:' in report:
            print('FAIL: a hole in a connection that is not TLS is reported')
            bad += 1
        if outs['1']['t.csv'].count(b'\n') < 10:
            print('FAIL: the TLS connection has no rows')
            bad += 1
        print('two_threads: %d frames, %s' % (len(pkts), 'ok' if not bad else '%d failed' % bad))
        return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
