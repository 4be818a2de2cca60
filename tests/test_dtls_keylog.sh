#!/usr/bin/env bash
# DTLS decryption with a key log, on the corpus's DTLS 1.2 capture
# (princeb612 hotplace dtls12.pcapng + sslkeylog, AES-128-CBC-SHA256):
#  1. the alerts ekuscope decrypts are the ones tshark decrypts (frame,
#     description), and both Finished messages (epoch 1) are read;
#  2. a wrong master secret gives decrypt_failed rows, never Finished rows or
#     alert descriptions;
#  3. DTLS 1.3 (Zeek's dtls13-wolfssl.pcap) with a key log line for its
#     ClientHello random: one decrypt_failed saying it is not decrypted, and
#     the certificates stay encrypted.
# Env (set by ctest): EKUSCOPE, EK_SHARED.
set -u
: "${EKUSCOPE:?}" "${EK_SHARED:?}"
C=$EK_SHARED/corpus/public
D12=$C/princeb612_hotplace/test/testcase/tls/dtls12
D13=$C/zeek_zeek/testing/btest/Traces/tls/dtls13-wolfssl.pcap
for f in "$D12/dtls12.pcapng" "$D12/sslkeylog" "$D13"; do
	[[ -f $f ]] || { echo "FAIL: corpus file missing: $f" >&2; exit 1; }
done
command -v tshark >/dev/null || { echo "FAIL: tshark not found (apt-get install tshark)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# CSV columns: 2 frame, 9 event, 10 detail
rows() { python3 -c 'import csv,sys
for r in csv.reader(open(sys.argv[1])):
    if r[0] != "file": print(r[1], r[8], r[9], sep="\t")' "$1"; }

# 1. alerts and Finished with the right key log
"$EKUSCOPE" -q -o "$tmp/ok.csv" --keylog "$D12/sslkeylog" "$D12/dtls12.pcapng" >/dev/null ||
	bad "ekuscope exited $? on dtls12.pcapng"
rows "$tmp/ok.csv" >"$tmp/ok.tsv"
want=$(tshark -r "$D12/dtls12.pcapng" -o "tls.keylog_file:$D12/sslkeylog" -Y dtls.alert_message.desc \
	-T fields -e frame.number -e dtls.alert_message.desc 2>/dev/null)
got=$(awk -F'\t' '$2 == "Alert" { d = $3; sub(/.*\(/, "", d); sub(/\).*/, "", d); print $1 "\t" d }' "$tmp/ok.tsv")
[[ -n $want && $got == "$want" ]] || bad "decrypted alerts: tshark '$want', ekuscope '$got'"
fin=$(awk -F'\t' '$2 == "Finished" { printf "%s ", $1 }' "$tmp/ok.tsv")
[[ $fin == "14 16 " ]] || bad "Finished rows in frames '$fin', want '14 16 '"
grep -q $'\tdecrypt_failed\t' "$tmp/ok.tsv" && bad "decrypt_failed with the right key log"

# 2. a wrong master secret
sed -E 's/^(CLIENT_RANDOM [0-9a-f]+ )./\1f/' "$D12/sslkeylog" >"$tmp/wrong.keylog"
cmp -s "$tmp/wrong.keylog" "$D12/sslkeylog" && bad "could not make a wrong key log"
"$EKUSCOPE" -q -o "$tmp/bad.csv" --keylog "$tmp/wrong.keylog" "$D12/dtls12.pcapng" >/dev/null ||
	bad "ekuscope exited $? with a wrong key log"
rows "$tmp/bad.csv" >"$tmp/bad.tsv"
n=$(grep -c $'\tdecrypt_failed\t' "$tmp/bad.tsv")
[[ $n == 2 ]] || bad "wrong key: $n decrypt_failed rows, want 2 (one per direction)"
grep -q $'\tFinished\t' "$tmp/bad.tsv" && bad "wrong key: a Finished row"
grep -q $'\tAlert\t.*([0-9]*)' "$tmp/bad.tsv" && bad "wrong key: an alert description"

# 3. DTLS 1.3 with a key log
r=$(tshark -r "$D13" -Y dtls.handshake.type==1 -T fields -e dtls.handshake.random 2>/dev/null | head -1 | tr -d :)
[[ ${#r} == 64 ]] || bad "no ClientHello random in dtls13-wolfssl.pcap"
s=$(printf '%064d' 1)
printf 'CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s\nSERVER_HANDSHAKE_TRAFFIC_SECRET %s %s\n' "$r" "$s" "$r" "$s" >"$tmp/d13.keylog"
"$EKUSCOPE" -q -o "$tmp/d13.csv" --findings "$tmp/d13f.csv" --keylog "$tmp/d13.keylog" "$D13" >/dev/null ||
	bad "ekuscope exited $? on dtls13-wolfssl.pcap"
rows "$tmp/d13.csv" >"$tmp/d13.tsv"
grep -q $'^4\tdecrypt_failed\tDTLS 1.3 records are not decrypted' "$tmp/d13.tsv" ||
	bad "DTLS 1.3: no decrypt_failed 'DTLS 1.3 records are not decrypted' at the ServerHello (frame 4)"
grep -q '^certs_encrypted,' "$tmp/d13f.csv" || bad "DTLS 1.3 with a key log: no certs_encrypted finding"

((fail)) && exit 1
echo "ok: DTLS 1.2 key log ($(grep -c . <<<"$want") alerts as tshark, Finished 14 16), wrong key, DTLS 1.3"
