# Sourced by the live-capture tests (test_live*.sh): a scratch directory
# $T removed at exit with every background process recorded in PIDS, and
# free_port.  ekuscope drops to nobody once the interface is open, so the
# caller opens $T as far as its outputs need (chmod).
T=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

# a TCP port nothing listens on, not one of the default TLS ports (found by content)
free_port() {
	local p=$((20000 + RANDOM % 20000))
	while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
	echo "$p"
}
