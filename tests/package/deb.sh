#!/usr/bin/env bash
# The Debian package, end to end, without touching the host: tools/package packs the build tree
# (--fast), the .deb's control data is checked (Depends from dpkg-shlibdeps, conffiles, maintainer
# scripts, the files), then it is installed with dpkg into a throwaway root, an overlay over /
# in a private mount namespace whose writes land in a tmpfs (the source tree hidden, so the
# installed program can only use installed files). There: the system user, the state
# directory, the enabled unit; the installed configuration, moved only to this test's
# addresses (net 83), survives a reinstallation as a conffile; the service's own command line
# from the installed unit, as its user, answers SIP OPTIONS and serves the installed admin page,
# stops with exit 0 on SIGTERM; a purge removes configuration and state.
# Usage: deb.sh SOURCE_DIR BUILD_DIR      (root; 77 = skipped: not root, no overlayfs)
set -euo pipefail
src=$1 build=$2

if [[ -z ${ICEGATE_DEB_TEST_NS:-} ]]; then
  if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root (mount namespace, overlayfs, chroot)"; exit 77; fi
  export ICEGATE_DEB_TEST_NS=1
  exec unshare --mount --propagation private "$0" "$@"
fi

ip=127.0.83.1
work=$(mktemp -d /tmp/icegate-deb-XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
  # Anything still running inside the throwaway root (its mounts would keep it alive).
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$work/root" ]] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  # The mounts vanish with this namespace; the directory itself is the host's.
  umount -R "$work" 2>/dev/null || umount -l "$work" 2>/dev/null || true
  rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f $work/root/var/lib/icegate/run.log ]] && cat "$work/root/var/lib/icegate/run.log"; exit 1; }
mount -t tmpfs -o size=2g tmpfs "$work"

# ---- the package
t0=$SECONDS
deb=$("$src/tools/package" --from "$build" --out "$work/out" --fast | tail -n1)
[[ -f $deb ]] || fail "tools/package made no .deb"
echo "packed $(basename "$deb") ($(du -h "$deb" | cut -f1)) in $((SECONDS - t0)) s"
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == icegate ]] || fail "Package: $(field Package)"
depends=$(field Depends)
echo "Depends: $depends"
# dpkg-shlibdeps: every shared library the binary needs (DT_NEEDED) is a dependency, with its
# package.
ldd "$build/gateway/icegate" >"$work/ldd"
for needed in $(readelf -d "$build/gateway/icegate" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  lib=$(awk -v n="$needed" '$1 == n && $3 ~ /^\// {print $3}' "$work/ldd")
  [[ -n $lib ]] || fail "ldd does not resolve $needed"
  real=$(readlink -f "$lib")
  pkg=$(dpkg -S "$real" 2>/dev/null | head -n1 | cut -d: -f1) ||
    pkg=$(dpkg -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1) || true
  [[ -n $pkg ]] || continue
  [[ $pkg == libc6 || $depends == *"$pkg"* ]] || fail "Depends lacks $pkg (for $lib)"
done
[[ $depends == *libsofia-sip-ua0* && $depends == *libssl3* && $depends == *adduser* ]] ||
  fail "Depends: $depends"
# The SRTP fast path is linked in statically: then no libsrtp2-1, and the description says so.
if grep -q libsrtp2 "$work/ldd"; then
  [[ $depends == *libsrtp2-1* ]] || fail "linked to libsrtp2.so but no libsrtp2-1 in Depends"
else
  [[ $depends != *libsrtp2* ]] || fail "static libsrtp2 but Depends names it"
  [[ $(dpkg-deb -f "$deb" Description) == *"linked in statically"* ]] || fail "Description: no SRTP note"
fi
dpkg-deb -e "$deb" "$work/control"
[[ $(cat "$work/control/conffiles") == /etc/icegate/icegate.xml ]] ||
  fail "conffiles: $(cat "$work/control/conffiles")"
for s in postinst prerm postrm; do [[ -x $work/control/$s ]] || fail "no $s"; done
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/files"
for f in ./usr/sbin/icegate ./etc/icegate/icegate.xml ./usr/lib/systemd/system/icegate.service \
         ./usr/lib/sysusers.d/icegate.conf ./usr/share/icegate/admin/index.html \
         ./usr/share/icegate/admin/app.js ./usr/share/icegate/admin/style.css \
         ./usr/share/doc/icegate/examples/dmz.xml ./usr/share/doc/icegate/examples/acl.xml \
         ./usr/share/doc/icegate/install.md ./usr/share/doc/icegate/configuration.md \
         ./usr/share/man/man8/icegate.8.gz; do
  grep -qx "$f" "$work/files" || fail "the package lacks $f"
done
if grep -E '^\./(work|tmp|home|root|usr/local)/' "$work/files"; then fail "files outside the FHS places"; fi

# ---- a throwaway root: / with a tmpfs on top, the source tree and /tmp, /run hidden
root=$work/root
mkdir -p "$work/upper" "$work/wk" "$root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/wk" "$root" ||
  { echo "SKIP: no overlayfs over /"; exit 77; }
mount --bind /proc "$root/proc"
mount --bind /dev "$root/dev"
for d in /work /tmp /run; do [[ -d $root$d ]] && mount -t tmpfs tmpfs "$root$d"; done
mount -t tmpfs tmpfs "$root$src" 2>/dev/null || true  # the source tree, wherever it is
[[ ! -e $root$src/gateway/admin/page ]] || fail "the source tree is still visible in the root"
cp "$deb" "$root/tmp/icegate.deb"
in_root() { chroot "$root" "$@"; }

host_user=$(getent passwd icegate || true)
in_root dpkg -i /tmp/icegate.deb </dev/null >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
[[ $(in_root dpkg-query -W -f='${Status}' icegate) == "install ok installed" ]] || fail "not installed"
# The system user and the state directory.
IFS=: read -r _ _ uid gid _ home shell <<<"$(in_root getent passwd icegate)" || fail "no user icegate"
((uid < 1000)) || fail "icegate is not a system user (uid $uid)"
[[ $home == /var/lib/icegate && $shell == /usr/sbin/nologin ]] || fail "user icegate: $home $shell"
[[ $(in_root stat -c '%U:%G %a' /var/lib/icegate) == "icegate:icegate 750" ]] ||
  fail "/var/lib/icegate: $(in_root stat -c '%U:%G %a' /var/lib/icegate)"
[[ $(in_root stat -c '%U:%G %a' /etc/icegate/icegate.xml) == "root:icegate 640" ]] ||
  fail "/etc/icegate/icegate.xml: $(in_root stat -c '%U:%G %a' /etc/icegate/icegate.xml)"
[[ -L $root/etc/systemd/system/multi-user.target.wants/icegate.service ]] || fail "the unit is not enabled"
# Nothing of it reached the host.
[[ ! -e /etc/icegate ]] || fail "the host has /etc/icegate"
[[ $(getent passwd icegate || true) == "$host_user" ]] || fail "the host's user icegate changed"

# The unit: the daemon's and the hardening settings.
unit=$root/usr/lib/systemd/system/icegate.service
for line in "Type=notify" "WatchdogSec=30s" "User=icegate" "StateDirectory=icegate" \
            "ProtectSystem=strict" "PrivateTmp=yes" "NoNewPrivileges=yes" \
            "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW" \
            'ExecReload=/bin/kill -HUP $MAINPID' \
            "ExecStart=/usr/sbin/icegate run /etc/icegate/icegate.xml"; do
  grep -qxF -- "$line" "$unit" || fail "the unit lacks: $line"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify --man=no --root="$root" /usr/lib/systemd/system/icegate.service >"$work/verify" 2>&1 ||
    { cat "$work/verify"; fail "systemd-analyze verify"; }
fi
zcat "$root/usr/share/man/man8/icegate.8.gz" >"$work/icegate.8"
grep -q '^\.SS run' "$work/icegate.8" || fail "icegate(8) lacks the run command"
# The unit's Documentation=man:icegate(8) is there (verify ran with --man=no: the host's man
# would not see the root's page).
in_root man -w icegate >/dev/null 2>&1 || [[ -f $root/usr/share/man/man8/icegate.8.gz ]] || fail "no man page"

# ---- the installed configuration, moved to this test's addresses only; a reinstallation keeps
# it (a conffile changed by the administrator).
conf=$root/etc/icegate/icegate.xml
sed -i -e "s/\"127\.0\.0\.1\"/\"$ip\"/g" -e 's/rtp-min="30000" rtp-max="33000"/rtp-min="35300" rtp-max="35399"/' \
       -e "s/host=\"$ip\" port=\"5080\"/host=\"127.0.83.2\" port=\"5080\"/" "$conf"
if grep -q '"127\.0\.0\.1"' "$conf"; then fail "an address left on 127.0.0.1"; fi
cp "$conf" "$work/adjusted.xml"
in_root dpkg -i /tmp/icegate.deb </dev/null >"$work/dpkg2.log" 2>&1 || { cat "$work/dpkg2.log"; fail "dpkg -i again"; }
cmp -s "$conf" "$work/adjusted.xml" || fail "a reinstallation replaced the administrator's configuration"

# ---- the service's command lines from the installed unit, as its user, in its directory
exec_pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
workdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
run_as=(chroot --userspec="$user:$user" "$root" sh -c)
"${run_as[@]}" "cd $workdir && exec $exec_pre" >"$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "ExecStartPre failed"; }
# chroot execs sh, which execs icegate: $pid is icegate's.
"${run_as[@]}" "cd $workdir && exec $exec_start" >"$root/var/lib/icegate/run.log" 2>&1 &
pid=$!
harness="$src/tests/integration/calls/harness.py"
python3 -B - "$harness" "$ip" "$pid" <<'PY' || fail "the installed icegate does not answer OPTIONS"
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("harness", sys.argv[1])
h = importlib.util.module_from_spec(spec); spec.loader.exec_module(h)
ip, pid = sys.argv[2], int(sys.argv[3])
def alive():
    try:
        state = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "X"
    if state in ("Z", "X"):
        raise h.TestFailure("the installed icegate exited")
print("OPTIONS:", h.wait_sip_answers(ip, 5060, "127.0.83.8", timeout=30, alive=alive))
PY
# Its process runs as icegate (real, effective, saved and file-system uid).
[[ $(cat "/proc/$pid/comm") == icegate ]] || fail "process $pid is not icegate"
[[ $(readlink "/proc/$pid/root") == "$root" ]] || fail "icegate does not run in the throwaway root"
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
[[ $uids == "$uid $uid $uid $uid" ]] || fail "the service runs with uids $uids, not icegate's $uid"
# The admin page comes from the installed files (the source tree is hidden).
python3 -B - "$ip" "$root/usr/share/icegate/admin/index.html" <<'PY' || fail "admin page"
import sys, time, urllib.request
ip, installed = sys.argv[1], open(sys.argv[2], "rb").read()
deadline = time.monotonic() + 20
while True:
    try:
        body = urllib.request.urlopen("http://%s:8060/" % ip, timeout=2).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)  # poll period until the admin listener answers
assert body == installed, "GET / is not the installed index.html"
print("admin page: the installed index.html (%d bytes)" % len(body))
PY
kill -TERM "$pid" || fail "the installed icegate exited before SIGTERM"
rc=0; wait "$pid" || rc=$?
pid=
[[ $rc -eq 0 ]] || fail "exit code $rc after SIGTERM"

# ---- purge: configuration and state go, the user stays (Debian practice)
in_root dpkg --purge icegate </dev/null >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
[[ ! -e $root/etc/icegate && ! -e $root/var/lib/icegate && ! -e $root/usr/sbin/icegate ]] ||
  fail "purge left files behind"
echo "package OK: built, installed, served OPTIONS and the admin page as icegate, purged"
