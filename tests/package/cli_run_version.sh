#!/usr/bin/env bash
# `icegate --version` names the libraries icegate runs on and says whether the SRTP fast path is
# in use, in agreement with what the binary is linked to; `icegate run FILE` serves like
# `icegate run -c FILE` (its SIP listener answers OPTIONS, SIGTERM stops it with exit 0) and,
# without NOTIFY_SOCKET, starts no watchdog thread; a file given twice or none at all is a usage
# error (exit 2).
set -euo pipefail
bin=$1 conf=$2
work=$(mktemp -d)
pid=
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; [[ -f $work/run.log ]] && cat "$work/run.log"; exit 1; }

# ---- --version
"$bin" --version >"$work/version" || fail "--version exit code $?"
cat "$work/version"
grep -Eq '^icegate [0-9]+\.[0-9]+\.[0-9]+$' "$work/version" || fail "no icegate version line"
grep -Eq '^Sofia-SIP [0-9]+\.[0-9]+\.[0-9]+' "$work/version" || fail "no Sofia-SIP version"
grep -Eq '^OpenSSL [0-9]+\.[0-9]+\.[0-9]+' "$work/version" || fail "no OpenSSL version"
grep -Eq '^libsrtp2 [0-9]+\.[0-9]+\.[0-9]+, AES-CM: AES-128 counter mode using (openssl|NSS)$' \
  "$work/version" || fail "no libsrtp2 version with its AES-CM implementation"
# The fast path is libsrtp2 built on OpenSSL and linked statically (tools/build-libsrtp); the
# dynamic libsrtp2.so.1 is Debian's NSS build. The output must say what the binary really does.
ldd "$bin" >"$work/ldd"
if grep -q 'libsrtp2\.so' "$work/ldd"; then
  grep -q '^SRTP fast path (libsrtp2 on OpenSSL): not in use' "$work/version" ||
    fail "linked to Debian's libsrtp2.so but the fast path is reported in use"
else
  grep -qx 'SRTP fast path (libsrtp2 on OpenSSL): in use' "$work/version" ||
    fail "libsrtp2 linked statically but the fast path is not reported in use"
fi
# The Sofia-SIP and OpenSSL versions are those of the libraries loaded at run time.
openssl_run=$(openssl version | awk '{print $2}')
grep -q "^OpenSSL $openssl_run " "$work/version" || fail "OpenSSL is not $openssl_run"
"$bin" version | cmp -s - "$work/version" || fail "'icegate version' differs from --version"

# ---- run: usage errors
rc=0; "$bin" run >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "run without a file: exit $rc, not 2"
grep -q "no configuration file given" "$work/out" || fail "run without a file: $(cat "$work/out")"
rc=0; "$bin" run "$conf" -c "$conf" >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "run FILE -c FILE: exit $rc, not 2"
rc=0; "$bin" run "$conf" "$conf" >"$work/out" 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "run FILE FILE: exit $rc, not 2"

# ---- run FILE: serves. SIP on an address of this test's own (calls/README.md: net 81), no
# admin listener.
ip=127.0.81.1
sed -e "s|\(<listener [^>]*address=\)\"127.0.0.1\"|\1\"$ip\"|" -e '/<admin /d' "$conf" >"$work/icegate.xml"
grep -q "address=\"$ip\"" "$work/icegate.xml" || fail "cannot move the listeners to $ip"
harness="$(cd "$(dirname "$0")/../integration/calls" && pwd)/harness.py"
env -u NOTIFY_SOCKET -u WATCHDOG_USEC "$bin" run "$work/icegate.xml" >"$work/run.log" 2>&1 &
pid=$!
python3 -B - "$harness" "$ip" "$pid" <<'PY' || fail "icegate run FILE does not answer OPTIONS"
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("harness", sys.argv[1])
h = importlib.util.module_from_spec(spec); spec.loader.exec_module(h)
ip, pid = sys.argv[2], int(sys.argv[3])
def alive():
    if not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z":
        raise h.TestFailure("icegate exited")
print(h.wait_sip_answers(ip, 5060, "127.0.81.8", timeout=30, alive=alive))
PY
grep -q "starting with $work/icegate.xml" "$work/run.log" || fail "not started with the file given"
# Not under systemd (no NOTIFY_SOCKET): no watchdog thread (gateway/daemon/notify.hpp).
if cat /proc/$pid/task/*/comm | grep -qx icegate-wd; then fail "a watchdog thread without NOTIFY_SOCKET"; fi
kill -TERM $pid
rc=0; wait $pid || rc=$?
pid=
[[ $rc -eq 0 ]] || fail "exit code $rc after SIGTERM"
echo "run FILE and --version OK"
