#!/usr/bin/env bash
# `icegate run` on a copy of the default configuration: it starts, reloads on SIGHUP (keeping the
# running configuration when the new file is broken, rotating the DTLS certificate when it is
# not) and stops cleanly on SIGTERM and SIGINT.
set -euo pipefail
bin=$1 conf=$2
work=$(mktemp -d)
pid=
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work"' EXIT
# The SIP listeners on an address of this test's own (calls/README.md: net 61), so that another
# icegate on the default 127.0.0.1:5060 does not stop this one from starting.
ip=127.0.61.1
harness="$(cd "$(dirname "$0")/calls" && pwd)/harness.py"
config() {  # a fresh copy of the default configuration, listeners on $ip
  sed -e "s|\(<listener [^>]*address=\)\"127.0.0.1\"|\1\"$ip\"|" \
      -e "s|<admin address=\"127.0.0.1\"|<admin address=\"$ip\"|" "$conf" >"$work/icegate.xml"
}
config
grep -q "address=\"$ip\"" "$work/icegate.xml" || { echo "cannot move the listeners to $ip"; exit 1; }

wait_for() {  # wait_for PATTERN: polls the log until a deadline of 20 s
  local deadline=$((SECONDS + 20))
  until grep -q -- "$1" "$log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "icegate exited early"; cat "$log"; exit 1; }
    ((SECONDS < deadline)) || { echo "timed out waiting for: $1"; cat "$log"; exit 1; }
    sleep 0.1  # the poll period inside the deadline
  done
}

start() {  # start NAME: icegate with a log of its own (an earlier log already says it is up)
  log="$work/$1.log"
  "$bin" run -c "$work/icegate.xml" >"$log" 2>&1 &
  pid=$!
  # Ready: up (its signal loop runs next) and its SIP sockets are its own.
  wait_for "icegate is up"
  python3 -B "$harness" listening udp "$ip" 5060 --pid "$pid" --timeout 20 || { cat "$log"; exit 1; }
  python3 -B "$harness" listening tcp "$ip" 5060 --pid "$pid" --timeout 20 || { cat "$log"; exit 1; }
}

start first

# A broken file on reload is refused; icegate keeps running.
sed -i 's/rtp-max="33000"/rtp-max="100"/' "$work/icegate.xml"
kill -HUP $pid
wait_for "reload refused"
grep -q "icegate.xml:[0-9]*: error: rtp-min 30000 is above rtp-max 100" "$log" || { cat "$log"; exit 1; }
kill -0 $pid

# A valid file on reload is taken, and the generated DTLS certificate is rotated: a new
# fingerprint for the calls that start afterwards.
config
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

start second
kill -INT $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 0 ] || { echo "exit code $rc after SIGINT"; cat "$log"; exit 1; }
grep -q "SIGINT: shutting down" "$log" || { cat "$log"; exit 1; }
echo "run/reload/stop OK"
