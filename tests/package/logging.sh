#!/usr/bin/env bash
# Logging of `icegate run` (issue 15, item 3): an unknown --log-level is refused before anything
# starts (exit 2, naming the level and the valid ones) instead of running with logging off; the
# --log-file is reopened on SIGUSR1 (logrotate's postrotate): after `mv X X.1` new lines go to
# a new X, and a reopen that fails says why in the old file and logging goes on there. A
# configuration file that cannot be read is refused with the reason (strerror).
# Addresses: net 84 (tests/package/CMakeLists.txt), SIP listeners only, no admin listener.
set -euo pipefail
bin=$1 conf=$2
work=$(mktemp -d)
pid=
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work"' EXIT
log=$work/icegate.log
fail() {
  echo "FAIL: $*"
  for f in "$work"/out "$work"/stderr "$log" "$log".*; do
    [[ -f $f ]] && { echo "--- $f"; cat "$f"; }
  done
  exit 1
}
# Polls (every 0.1 s, up to 30 s) until "$@" succeeds; fails when icegate has exited.
wait_for() {
  local i
  for ((i = 0; i < 300; i++)); do
    "$@" && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then fail "icegate exited while waiting for: $*"; fi
    sleep 0.1
  done
  return 1
}
has() { [[ -f $2 ]] && grep -q -- "$1" "$2"; }

ip=127.0.84.1
sed -e "s|\(<listener [^>]*address=\)\"127.0.0.1\"|\1\"$ip\"|" -e '/<admin /d' "$conf" >"$work/icegate.xml"
grep -q "address=\"$ip\"" "$work/icegate.xml" || fail "cannot move the listeners to $ip"

# ---- an unknown --log-level: usage error, nothing started
for args in "--log-level bogus" "--log-level=bogus --log-file $log"; do
  rc=0
  # shellcheck disable=SC2086
  timeout 20 "$bin" run "$work/icegate.xml" $args >"$work/out" 2>"$work/stderr" || rc=$?
  [[ $rc -eq 2 ]] || fail "run $args: exit $rc, not 2"
  grep -q 'unknown log level "bogus"' "$work/stderr" || fail "run $args: the bad level is not named"
  grep -q 'trace, debug, info, warn, error, off' "$work/stderr" ||
    fail "run $args: the valid levels are not listed"
  [[ ! -e $log ]] || fail "run $args: the log file was created"
done
# `run --help` lists the levels (boost wraps the line).
"$bin" run --help | tr -s ' \n' ' ' | grep -q 'trace, debug, info, warn, error or off' ||
  fail "run --help: no levels"

# ---- a configuration file that cannot be read: refused with the reason (errno), exit 1
refused() {  # refused REASON CMD...: the command exits 1 and its stderr says "cannot read ...: REASON"
  local reason=$1 rc=0
  shift
  "$@" >"$work/out" 2>"$work/stderr" || rc=$?
  [[ $rc -eq 1 ]] || fail "$*: exit $rc, not 1"
  grep -q "cannot read configuration file: $reason" "$work/stderr" || fail "$*: no \"$reason\""
}
refused "No such file or directory" "$bin" run "$work/missing.xml"
refused "a directory, not a regular file" "$bin" run "$work"
cp "$work/icegate.xml" "$work/unreadable.xml"
chmod 000 "$work/unreadable.xml"
if [[ $(id -u) -ne 0 ]]; then
  refused "Permission denied" "$bin" run "$work/unreadable.xml"
elif command -v setpriv >/dev/null; then  # root reads any file: run it as nobody
  chmod 711 "$work"
  refused "Permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$bin" run "$work/unreadable.xml"
  chmod 700 "$work"
else
  echo "root without setpriv: the Permission denied case is not checked"
fi

# ---- a --log-file that cannot be opened: refused with the reason, exit 1 (was an uncaught
# spdlog exception, abort)
touch "$work/afile"
rc=0
timeout 20 "$bin" run "$work/icegate.xml" --log-file "$work/afile/x.log" >"$work/out" 2>"$work/stderr" || rc=$?
[[ $rc -eq 1 ]] || fail "an unopenable --log-file: exit $rc, not 1"
grep -q "cannot open the log file $work/afile/x.log: .*Not a directory" "$work/stderr" ||
  fail "an unopenable --log-file: no reason on stderr"

# ---- SIGUSR1 reopens the log file
env -u NOTIFY_SOCKET -u WATCHDOG_USEC "$bin" run "$work/icegate.xml" --log-level info \
  --log-file "$log" >"$work/out" 2>"$work/stderr" &
pid=$!
wait_for has "icegate is up" "$log" || fail "never logged 'icegate is up'"

# logrotate: move the file away, then postrotate's SIGUSR1.
mv "$log" "$log.1"
kill -USR1 $pid
wait_for has "SIGUSR1: reopened the log file $log" "$log" || fail "no new $log after SIGUSR1"
# Later lines go to the new file, none to the old one.
kill -HUP $pid
wait_for has "SIGHUP: reloading" "$log" || fail "the reload after SIGUSR1 is not in the new file"
if grep -q "SIGUSR1\|SIGHUP" "$log.1"; then fail "lines after the rotation in $log.1"; fi
grep -q "icegate is up" "$log.1" || fail "the old lines are not in $log.1"

# A reopen that fails (the name is now a directory): the reason goes to the file still open,
# and logging goes on there.
mv "$log" "$log.2"
mkdir "$log"
kill -USR1 $pid
wait_for has "SIGUSR1: cannot reopen the log file $log: .*Is a directory" "$log.2" ||
  fail "a failed reopen is not reported in the old file with its reason"
kill -HUP $pid
wait_for eval '[[ $(grep -c "SIGHUP: reloading" "$log.2") -eq 2 ]]' ||
  fail "logging stopped after a failed reopen"
rmdir "$log"
kill -USR1 $pid
wait_for has "SIGUSR1: reopened the log file $log" "$log" || fail "no reopen after the failed one"

kill -TERM $pid
rc=0; wait $pid || rc=$?
pid=
[[ $rc -eq 0 ]] || fail "exit code $rc after SIGTERM"
grep -q "stopped" "$log" || fail "'stopped' is not in the reopened file"
[[ ! -s $work/stderr ]] || fail "output on stderr with --log-file: $(cat "$work/stderr")"
echo "log level check and SIGUSR1 reopen OK"
