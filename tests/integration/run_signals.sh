#!/usr/bin/env bash
# `icegate run` on a copy of the default configuration: it starts, reloads on SIGHUP (keeping the
# running configuration when the new file is broken, rotating the DTLS certificate when it is
# not) and stops cleanly on SIGTERM and SIGINT.
set -euo pipefail
bin=$1 conf=$2
work=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$conf" "$work/icegate.xml"
log="$work/log"

wait_for() {  # wait_for PATTERN: polls the log, bounded to 20 s
  for _ in $(seq 200); do
    grep -q -- "$1" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "icegate exited early"; cat "$log"; exit 1; }
    sleep 0.1
  done
  echo "timed out waiting for: $1"; cat "$log"; exit 1
}

"$bin" run -c "$work/icegate.xml" >"$log" 2>&1 &
pid=$!
wait_for "starting with"
wait_for "SIP listener udp-lo: udp 127.0.0.1:5060"

# A broken file on reload is refused; icegate keeps running.
sed -i 's/rtp-max="33000"/rtp-max="100"/' "$work/icegate.xml"
kill -HUP $pid
wait_for "reload refused"
grep -q "icegate.xml:[0-9]*: error: rtp-min 30000 is above rtp-max 100" "$log" || { cat "$log"; exit 1; }
kill -0 $pid

# A valid file on reload is taken, and the generated DTLS certificate is rotated: a new
# fingerprint for the calls that start afterwards.
cp "$conf" "$work/icegate.xml"
first=$(grep -o "DTLS certificate sha-256 [0-9A-F:]*" "$log" | head -1 | awk '{print $4}')
[ -n "$first" ] || { echo "no DTLS certificate fingerprint at start"; cat "$log"; exit 1; }
kill -HUP $pid
wait_for "configuration reloaded"
wait_for "DTLS certificate rotated"
rotated=$(grep -o "DTLS certificate rotated: sha-256 [0-9A-F:]*" "$log" | tail -1 | awk '{print $5}')
[ -n "$rotated" ] && [ "$rotated" != "$first" ] || {
  echo "the DTLS certificate was not rotated on SIGHUP ($first -> $rotated)"; cat "$log"; exit 1; }

kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 0 ] || { echo "exit code $rc"; cat "$log"; exit 1; }
grep -q "SIGTERM: shutting down" "$log"

"$bin" run -c "$work/icegate.xml" >"$log" 2>&1 &
pid=$!
wait_for "starting with"
kill -INT $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 0 ] || { echo "exit code $rc after SIGINT"; cat "$log"; exit 1; }
echo "run/reload/stop OK"
