"""Checks a report's DOM as headless Chromium dumped it (tests/test_html.sh).

    python3 html_dom_check.py DOM.html CONNS.csv FINDINGS.csv CERTS.csv [--hostile] [--all-ladders]

Asserts: one ladder per failed connection (every connection with
--all-ladders), one list item per distinct finding message, every leaf
serial of --conns in the connection table, one inventory row per --certs
row, one table row per connection; nothing that loads or runs anything
but the report's own script (no src/href/action, no on* handler, no
img/iframe/object/embed/link/base/form/media element, no http(s) URL in an
attribute, a Content-Security-Policy with default-src 'none'); with
--hostile, the hostile names are text in the page, not markup.
"""
import csv
import sys
from html.parser import HTMLParser

FORBIDDEN_TAGS = {'img', 'iframe', 'object', 'embed', 'link', 'base', 'form', 'audio', 'video', 'source',
                  'frame', 'frameset', 'image', 'use', 'foreignobject'}


class Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errs, self.text = [], [], []
        self.ladders = self.findings = self.inv_rows = self.conn_rows = self.scripts = 0
        self.serials, self.csp = [], None
        self.finding_texts = []
        self.in_serial = self.in_finding = False
        self.section = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get('class') or '').split()
        if tag in FORBIDDEN_TAGS:
            self.errs.append('element <%s>' % tag)
        for k, v in attrs:
            if k.startswith('on'):
                self.errs.append('event handler attribute %s on <%s>' % (k, tag))
            if k in ('src', 'href', 'action', 'srcset', 'xlink:href', 'formaction', 'poster', 'background'):
                self.errs.append('attribute %s=%r on <%s>' % (k, v, tag))
            if v and ('http:' in v.lower() or 'https:' in v.lower() or 'javascript:' in v.lower()):
                self.errs.append('URL in attribute %s=%r' % (k, v))
        if tag == 'script':
            self.scripts += 1
        if tag == 'meta' and (a.get('http-equiv') or '').lower() == 'content-security-policy':
            self.csp = a.get('content')
        if tag == 'figure' and 'ladder' in cls:
            self.ladders += 1
        if tag == 'li' and 'finding' in cls:
            self.findings += 1
            self.in_finding = True
            self.finding_texts.append('')
        if tag == 'table':
            self.section = a.get('id')
        if tag == 'tr' and self.section == 'inventory' and self.stack and self.stack[-1] == 'tbody':
            self.inv_rows += 1
        if tag == 'tr' and self.section == 'conns' and self.stack and self.stack[-1] == 'tbody':
            self.conn_rows += 1
        if tag == 'td' and 'serial' in cls and self.section == 'conns':
            self.in_serial = True
            self.serials.append('')
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == 'td':
            self.in_serial = False
        if tag == 'li':
            self.in_finding = False
        if tag == 'table':
            self.section = None
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        if self.in_serial:
            self.serials[-1] += data
        if self.in_finding:
            self.finding_texts[-1] += data


def main():
    dom_path, conns_path, findings_path, certs_path = sys.argv[1:5]
    hostile = '--hostile' in sys.argv
    all_ladders = '--all-ladders' in sys.argv
    d = Dom()
    d.feed(open(dom_path, encoding='utf-8').read())
    errs = list(d.errs)
    conns = list(csv.DictReader(open(conns_path)))
    findings = list(csv.DictReader(open(findings_path)))
    certs = list(csv.DictReader(open(certs_path)))
    want_ladders = len(conns) if all_ladders else sum(1 for r in conns if r['outcome'] == 'failed')
    if d.ladders != min(want_ladders, 200):
        errs.append('%d ladders, %d %s connections' % (d.ladders, want_ladders, 'selected' if all_ladders else 'failed'))
    # several inputs: each message is listed as "file: message", like the
    # text report (the same message in two files is two items)
    files = {r['file'] for r in conns} | {r['file'] for r in findings}
    multi = len(files) > 1
    distinct = {(r['code'], r['file'] if multi else '', r['message']) for r in findings}
    if d.findings != len(distinct):
        errs.append('%d findings listed, the CSV has %d distinct' % (d.findings, len(distinct)))
    for text in d.finding_texts:
        head = text.split(': ', 1)[0]
        if multi and head not in files:
            errs.append('finding without its file (of %s): %r' % (sorted(files), text[:80]))
        if not multi and head in files:
            errs.append('one input, yet a file prefix: %r' % text[:80])
    if d.conn_rows != len(conns):
        errs.append('%d connection rows, --conns has %d' % (d.conn_rows, len(conns)))
    if d.inv_rows != len(certs):
        errs.append('%d inventory rows, --certs has %d' % (d.inv_rows, len(certs)))
    for r in conns:
        for side in ('client', 'server'):
            s = r[side + '_cert_serial']
            if s and s not in d.serials:
                errs.append('serial %s (%s, conn %s) not in the connection table' % (s, side, r['conn']))
    if d.scripts != 1:
        errs.append('%d script elements' % d.scripts)
    if not d.csp or "default-src 'none'" not in d.csp:
        errs.append('no Content-Security-Policy with default-src none: %r' % d.csp)
    text = ''.join(d.text)
    if hostile:
        # the subject as RFC 2253 writes it (its markup characters escaped
        # with a backslash), the SNI as sent
        for s in (r'\<script\>alert(1)\</script\>', r'\<img src=x onerror=alert(2)\>', r'\"\>\<svg onload=alert(3)\>',
                  '"><svg onload=alert(4)><script>alert(5)</script>'):
            if s not in text:
                errs.append('hostile name %r is not shown as text' % s)
    for e in errs:
        print(e)
    sys.exit(1 if errs else 0)


if __name__ == '__main__':
    main()
