#!/usr/bin/env bash
# --html: headless Chromium (Debian's chromium, scripts/deps.sh) renders the
# report of every sample, with and without keys, and of a capture whose
# certificate subject and SNI carry <script>, <img onerror=...> and
# "><svg onload=...>; tests/html_dom_check.py asserts on the DOM it dumps
# (ladders, findings, serials, inventory and connection rows, nothing that
# loads or runs). Nothing outside the file is requested: Chromium runs in a
# network namespace of its own (no interface but a down loopback), its
# net log holds no request but Chromium's own background ones, and no
# Content-Security-Policy violation is logged.  A screenshot of each is
# taken.
set -euo pipefail
: "${EKUSCOPE:?}" "${EK_SRC:?}"
cd "$EK_SRC"
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "FAIL: chromium not installed (scripts/deps.sh installs it)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--public-roots samples/pki/public-root-ca.crt --ca-file samples/pki/all-roots.pem)
fail=0 pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

chrome() { # out-flag(s)... url
	HOME=$work/home timeout 120 unshare -n "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync --disable-extensions \
		--disable-default-apps --user-data-dir="$work/profile" --host-resolver-rules="MAP * ~NOTFOUND" \
		--enable-logging=stderr --v=0 "$@"
}

render() { # name, dom-check flags, then ekuscope arguments
	local name=$1 flags=$2
	shift 2
	local d=$work/$name
	mkdir -p "$d"
	"$EKUSCOPE" "${common[@]}" -q --html "$d/r.html" --conns "$d/c.csv" --findings "$d/f.csv" --certs "$d/i.csv" \
		"$@" >/dev/null 2>&1 || true
	[ -s "$d/r.html" ] || { bad "$name: no report written"; return; }
	chrome --log-net-log="$d/net.json" --dump-dom "file://$d/r.html" >"$d/dom.html" 2>"$d/chrome.log" ||
		{ bad "$name: chromium failed: $(tail -3 "$d/chrome.log")"; return; }
	# shellcheck disable=SC2086
	if out=$(python3 tests/html_dom_check.py "$d/dom.html" "$d/c.csv" "$d/f.csv" "$d/i.csv" $flags); then ok; else
		bad "$name: $out"; fi
	if grep -qi "content security policy" "$d/chrome.log"; then
		bad "$name: CSP violation: $(grep -i 'content security policy' "$d/chrome.log" | head -2)"; else ok; fi
	local urls
	urls=$(grep -o '"url":"[^"]*"' "$d/net.json" 2>/dev/null | sed 's/^"url":"//; s/"$//' | sort -u |
		grep -Ev '^https?://([a-z0-9.-]+\.)?(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)/' || true)
	[ -z "$urls" ] && ok || bad "$name: requests beyond the file: $urls"
}

for pcap in samples/*.pcap samples/*.pcapng; do
	name=$(basename "$pcap")
	k=${pcap%.pcap}.keylog
	[ -f "$k" ] && render "$name-keylog" "" --keylog "$k" "$pcap"
	render "$name" "" "$pcap"
done
render multi "" samples/traversal-7001-no-clientauth.pcap samples/same-cert-both-roles.pcap samples/snaplen-cut-5061.pcap
render select "--all-ladders" --conn 1 samples/same-cert-both-roles.pcap
python3 tests/hostile_capture.py "$EK_SRC" "$work/hostile.pcap"
render hostile "--hostile" "$work/hostile.pcap"

# The page as a person sees it: a screenshot renders (and is not blank).
chrome --hide-scrollbars --window-size=1000,1400 --screenshot="$work/shot.png" "file://$work/hostile/r.html" \
	>/dev/null 2>&1 || true
[ "$(stat -c %s "$work/shot.png" 2>/dev/null || echo 0)" -gt 20000 ] && ok || bad "screenshot missing or blank"

# Big captures stay usable: more than 200 distinct failed handshakes are
# capped and the rest counted.
python3 - "$work/many.pcap" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ['EK_SRC'], 'tests', 'malformed'))
import pcapgen as pg
pkts = []
for i in range(230):
    f = pg.Flow(cport=40000 + i, sport=5061, t0=1774353266.0 + i)
    f.handshake()
    f.send(0, pg.record(22, pg.client_hello(sni=b'h%d.example' % i)))
    f.send(1, pg.record(21, b'\x02\x28'))
    f.close()
    pkts += f.pkts
open(sys.argv[1], 'wb').write(pg.pcap(sorted(pkts, key=lambda p: p[0])))
PY
"$EKUSCOPE" -q --html "$work/many.html" "$work/many.pcap" >/dev/null 2>&1 || true
n=$(grep -o '<figure class="ladder"' "$work/many.html" | wc -l)
[ "$n" = 200 ] && grep -q '30 more distinct handshakes left out' "$work/many.html" && ok ||
	bad "230 distinct failed handshakes: $n ladders, $(grep -o 'id="ladders-left-out">[^<]*' "$work/many.html")"
echo "html: $pass passed, $fail failed"
((fail == 0))
