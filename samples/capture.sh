# samples/capture.sh - sourced by make-samples.sh and make-stack-samples.sh:
# tcpdump on lo around each sample.  Needs WORK and die from the script;
# CAPTURE_SETTLE: seconds given to the last packets before the stop.

capture_start() { # OUT FILTER
	: >"$WORK/tcpdump.err"
	tcpdump -i lo -s 0 -U --immediate-mode -Z root -w "$1" "$2" 2>"$WORK/tcpdump.err" &
	TCPDUMP_PID=$!
	local i
	for i in $(seq 200); do
		grep -q "listening on" "$WORK/tcpdump.err" && return 0
		kill -0 "$TCPDUMP_PID" 2>/dev/null || break
		sleep 0.02
	done
	cat "$WORK/tcpdump.err" >&2
	die "tcpdump did not start"
}

capture_stop() {
	sleep "${CAPTURE_SETTLE:-0.15}"
	kill -INT "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
	TCPDUMP_PID=
}
