"""A capture whose certificate subject, SAN and SNI carry markup, control
characters and invalid UTF-8 (for the --json and --html tests).

    python3 hostile_capture.py SRC OUT.pcap

The certificate is made here with openssl (a self-signed leaf whose
subject is <script>, <img onerror=...> and "><svg onload=...>); the
capture is built with tests/malformed/pcapgen.py: a TLS 1.2 handshake on
port 5061 that the server aborts with a fatal alert, so the HTML report
draws a ladder with those names on it.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'malformed'))
import pcapgen as pg  # noqa: E402

SUBJECT_CN = '<script>alert(1)</script>'
SUBJECT_O = '<img src=x onerror=alert(2)>'
SUBJECT_OU = '\\"><svg onload=alert(3)>'   # \" : a literal quote in openssl's config
SNI = b'"><svg onload=alert(4)><script>alert(5)</script>\x1b[31m\xff.example'


def make_cert(tmp):
    cfg = os.path.join(tmp, 'req.cnf')
    with open(cfg, 'w') as f:
        f.write('[req]\nprompt = no\ndistinguished_name = dn\nx509_extensions = ext\n'
                '[dn]\nCN = %s\nO = %s\nOU = %s\n'
                '[ext]\nextendedKeyUsage = serverAuth\n'
                'subjectAltName = DNS:<b>bold</b>.example\n' % (SUBJECT_CN, SUBJECT_O, SUBJECT_OU))
    key, crt = os.path.join(tmp, 'k.pem'), os.path.join(tmp, 'c.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                    '-nodes', '-keyout', key, '-out', crt, '-days', '3650', '-set_serial', '0x5c219700dead',
                    '-config', cfg], check=True, capture_output=True)
    return pg.pem_to_der(crt)


def main():
    out = sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        der = make_cert(tmp)
    f = pg.Flow(sport=5061).handshake()
    f.send(0, pg.record(22, pg.client_hello(sni=SNI)))
    f.send(1, pg.records(22, pg.server_hello() + pg.certificate([der]) + pg.cert_request() +
                         pg.server_hello_done()))
    f.send(0, pg.records(22, pg.certificate([der])))
    f.send(1, pg.record(21, b'\x02\x2b'))
    f.close()
    with open(out, 'wb') as fp:
        fp.write(pg.pcap(f.pkts))


if __name__ == '__main__':
    main()
