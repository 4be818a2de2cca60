"""Captures for tests/test_safety.sh, built with the malformed-input
generator (tests/malformed/pcapgen.py).

  gen.py cert OUT.pcap CERT.pem     one handshake presenting CERT (server)
  gen.py many OUT.pcap CERT.pem N   N such handshakes, each its own connection
  gen.py tty OUT.txt CMD...         run CMD with stderr on a pseudo-terminal
                                    (stopped for 0.6 s a few times, so the
                                    progress line's first half second passes
                                    while a file is read); OUT.txt: stderr
"""
import os
import pty
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'malformed'))
import pcapgen as pg  # noqa: E402


def flow(der, i):
    f = pg.Flow(client='10.1.%d.%d' % (i // 250 % 250, i % 250 + 1), cport=20000 + i % 40000, sport=443,
                t0=1774353266.0 + i * 0.001).handshake()
    f.send(0, pg.record(22, pg.client_hello(sni=b'utf8.example')))
    f.send(1, pg.records(22, pg.server_hello() + pg.certificate([der]) + pg.server_hello_done()))
    f.send(0, pg.record(21, b'\x02\x2a'))
    f.close()
    return f.pkts


def tty(out, cmd):
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    for pause in range(6):
        time.sleep(0.02 if pause == 0 else 0.3)
        if p.poll() is not None:
            break
        try:
            p.send_signal(signal.SIGSTOP)
            time.sleep(0.6)
            p.send_signal(signal.SIGCONT)
        except ProcessLookupError:
            break
    buf = b''
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b:
            break
        buf += b
    open(out, 'wb').write(buf)
    return p.wait()


def main():
    what, out = sys.argv[1], sys.argv[2]
    if what == 'tty':
        sys.exit(tty(out, sys.argv[3:]))
    der = pg.pem_to_der(sys.argv[3])
    n = int(sys.argv[4]) if what == 'many' else 1
    pkts = []
    for i in range(n):
        pkts += flow(der, i)
    open(out, 'wb').write(pg.pcap(pkts))


main()
