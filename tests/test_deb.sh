#!/usr/bin/env bash
# Installed like a Debian tool: a Release build in its own directory,
# `cpack -G DEB`; the package holds the binary, ekuscope(1) and the bash
# completion, its dependencies are computed (libpcap, libssl, libcsv);
# unpacked into a temporary root (the machine is left as it was) the binary
# runs (--version, a sample).  Also: the man page and the completion name
# every option --help lists, and the man page formats without warnings.
set -euo pipefail
: "${EKUSCOPE:?}" "${EK_SRC:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# every option of --help in the man page and the completion
opts=$("$EKUSCOPE" --help | grep -oE -- '(^|[ ,])-(-[a-z-]+|[a-zA-Z])' | tr -d ' ,' | sort -u)
for o in $opts; do
	esc=${o//-/\\\\-}
	grep -q -- "$esc" "$EK_SRC/man/ekuscope.1" || bad "man page does not document $o"
	grep -qw -- "$o" "$EK_SRC/completion/ekuscope.bash" || bad "bash completion lacks $o"
done
ok
warn=$(sed 's/@PROJECT_VERSION@/0/' "$EK_SRC/man/ekuscope.1" | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z 2>&1)
[ -z "$warn" ] && ok || bad "groff warnings: $warn"
bash -n "$EK_SRC/completion/ekuscope.bash" && ok || bad "completion is not valid bash"

cmake -S "$EK_SRC" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DEK_BENCH=OFF >/dev/null
cmake --build "$work/build" -j2 >/dev/null
(cd "$work/build" && cpack -G DEB >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; bad "cpack failed"; }
deb=$(ls "$work"/build/ekuscope_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "FAIL no .deb"; exit 1; }
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/ekuscope ./usr/share/man/man1/ekuscope.1.gz ./usr/share/bash-completion/completions/ekuscope \
	./usr/share/doc/ekuscope/README.md; do
	grep -q " $f\$" <<<"$contents" && ok || bad "$f not in the package"
done
deps=$(dpkg-deb -f "$deb" Depends)
for lib in libpcap libssl libcsv libc6; do
	grep -q "$lib" <<<"$deps" && ok || bad "Depends lacks $lib: $deps"
done
root=$work/root
dpkg-deb -x "$deb" "$root"
v=$("$root/usr/bin/ekuscope" --version)
[[ $v == "ekuscope "* ]] && ok || bad "--version printed '$v'"
out=$("$root/usr/bin/ekuscope" -q --public-roots "$EK_SRC/samples/pki/public-root-ca.crt" \
	"$EK_SRC/samples/traversal-7001-no-clientauth.pcap")
grep -q client_cert_no_clientauth <<<"$out" && ok || bad "the installed binary did not find client_cert_no_clientauth"
zcat "$root/usr/share/man/man1/ekuscope.1.gz" | grep -q "^\.TH EKUSCOPE 1 .*ekuscope ${v#ekuscope }" && ok ||
	bad "man page version is not the binary's"
MANWIDTH=80 man -l "$root/usr/share/man/man1/ekuscope.1.gz" 2>/dev/null | grep -q "EXIT STATUS" && ok || bad "man cannot show the page"
echo "deb: $pass passed, $fail failed"
((fail == 0))
