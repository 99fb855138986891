#!/usr/bin/env python3
"""The systemd notification protocol (sd_notify(3)) spoken by the real icegate binary.

The test plays systemd: it binds a unix datagram socket, starts `icegate run FILE` with
NOTIFY_SOCKET pointing at it and WATCHDOG_USEC=1 s, and reads every message. It checks:
- READY=1 comes once the SIP listeners are icegate's sockets and its SIP stack answers OPTIONS;
- WATCHDOG=1 every half interval, and STATUS= with the call and registration counts (a
  REGISTER moves it);
- a stuck media worker, then a stuck signalling thread (each frozen alone with ptrace, the rest
  of the process runs on) stop the pings; they resume when the thread runs again;
- SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1, for a valid and for a refused file;
- SIGTERM: STOPPING=1, then exit 0.

Net 82 (tests/integration/calls/README.md): icegate .1, the registering phone .3, probes .8.
"""

import ctypes
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration", "calls"))
import harness  # noqa: E402
from harness import TestFailure, poll  # noqa: E402

WATCHDOG_USEC = 1_000_000
PERIOD = WATCHDOG_USEC / 2e6  # icegate pings at half the interval (sd_watchdog_enabled(3))


class Notifications:
    """Every datagram on the notify socket, with its arrival time, read by a thread."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.items = []  # (monotonic time, {key: value}, raw text)
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            text = data.decode(errors="replace")
            fields = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
            with self.lock:
                self.items.append((time.monotonic(), fields, text))

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()

    def since(self, t0=0.0, key=None, value=None):
        with self.lock:
            return [(t, f, raw) for t, f, raw in self.items
                    if t >= t0 and (key is None or (key in f and (value is None or f[key] == value)))]

    def wait(self, key, value=None, t0=0.0, timeout=15, alive=None, count=1):
        def seen():
            if alive:
                alive()
            hits = self.since(t0, key, value)
            return hits if len(hits) >= count else None
        hits = poll(seen, timeout)
        if not hits:
            raise TestFailure("no %s%s from icegate within %s s (got: %s)"
                              % (key, "=" + value if value else "", timeout,
                                 [raw for _, _, raw in self.since(t0)][-8:]))
        return hits


# -- freezing one thread: ptrace(PTRACE_SEIZE) + PTRACE_INTERRUPT stops that thread only -------
_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000


def _ptrace(req, tid):
    if _libc.ptrace(req, tid, None, None) != 0:
        err = ctypes.get_errno()
        raise TestFailure("ptrace(%#x, %d): %s" % (req, tid, os.strerror(err)))


class Frozen:
    """with Frozen(tid): the thread is stopped; every other thread of the process runs."""

    def __init__(self, tid):
        self.tid = tid

    def __enter__(self):
        _ptrace(PTRACE_SEIZE, self.tid)
        _ptrace(PTRACE_INTERRUPT, self.tid)
        os.waitpid(self.tid, WALL)  # the thread is in its ptrace stop now
        return self

    def __exit__(self, *exc):
        _ptrace(PTRACE_DETACH, self.tid)
        return False


def threads(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                out[int(tid)] = f.read().strip()
        except OSError:
            pass
    return out


def main():
    env = harness.Env("sd_notify", net=82)
    env.needs_sipp = True
    with env:
        config = env.config(log_level="info")
        # No admin listener: its HTTP threads would share the name of the signalling thread.
        tree = ET.parse(config)
        root = tree.getroot()
        admin = root.find("admin")
        if admin is not None:
            root.remove(admin)
        tree.write(config, encoding="UTF-8", xml_declaration=True)
        ip = env.icegate_ip

        sock_path = os.path.join(env.work, "notify.sock")
        notes = Notifications(sock_path)
        try:
            run(env, config, ip, sock_path, notes)
        finally:
            notes.close()


def run(env, config, ip, sock_path, notes):
    proc_env = dict(os.environ)
    proc_env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    proc_env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    proc_env["NOTIFY_SOCKET"] = sock_path
    proc_env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
    proc_env.pop("WATCHDOG_PID", None)
    with open(env.log_path, "w") as log:
        env.icegate = subprocess.Popen([env.icegate_bin, "run", config], stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=proc_env, start_new_session=True)
    env.procs.append(env.icegate)
    pid = env.icegate.pid
    alive = env.check_icegate

    # READY=1 means every listener is up: at that moment the sockets must already be there.
    t_ready = notes.wait("READY", "1", timeout=30, alive=alive)[0][0]
    for proto in ("udp", "tcp"):
        env.check(harness.listening(proto, ip, 5060, pid),
                  "READY=1 came before icegate listened on %s %s:5060" % (proto, ip))
    answer = harness.wait_sip_answers(ip, 5060, env.ip(8), timeout=5, alive=alive,
                                      what="icegate (after READY=1)")
    env.check(answer.startswith("SIP/2.0 200"), "OPTIONS after READY=1: %s" % answer)
    env.check("icegate is up" in env.log(), "READY=1 before 'icegate is up' was logged")

    # Watchdog pings at half the interval.
    pings = notes.wait("WATCHDOG", "1", t0=t_ready, timeout=10, alive=alive, count=5)
    gaps = [b[0] - a[0] for a, b in zip(pings, pings[1:])]
    env.check(0.5 * PERIOD <= statistics.median(gaps) <= 1.6 * PERIOD,
              "watchdog ping gaps %s, expected about %.2f s" % (gaps, PERIOD))
    env.note("READY=1 then %d pings, median gap %.3f s" % (len(pings), statistics.median(gaps)))

    # STATUS= with the counts; a REGISTER moves it.
    notes.wait("STATUS", "0 calls, 0 registrations", timeout=10, alive=alive)
    env.register("1001", "1001secret")
    notes.wait("STATUS", "0 calls, 1 registration", timeout=15, alive=alive)

    # A stuck media worker, then a stuck signalling thread: the pings stop while it is stuck.
    names = threads(pid)
    worker = min(t for t, n in names.items() if n == "icegate-mw0")
    signalling = [t for t, n in names.items() if n == "icegate" and t != pid]
    env.check(len(signalling) == 1,
              "expected one unnamed thread besides main (the signalling thread): %s" % names)
    for what, tid, pattern in (
            ("media worker 0", worker, r"watchdog: media worker 0 has not turned its loop"),
            ("the signalling thread", signalling[0],
             r"watchdog: the signalling thread did not run a probe")):
        before = len(re.findall(pattern, env.log()))
        with Frozen(tid):
            t_frozen = time.monotonic()
            env.wait_log(pattern, timeout=10, count=before + 1)
            t_noticed = time.monotonic()
            # Stuck: not one ping during four periods.
            time.sleep(4 * PERIOD)  # an observation window: pings must be absent for it
            late = notes.since(t_noticed, "WATCHDOG")
            env.check(not late, "%s frozen, yet %d WATCHDOG=1 after the stall was noticed"
                      % (what, len(late)))
            t_thaw = time.monotonic()
        env.note("%s frozen: noticed after %.2f s, no ping for %.2f s"
                 % (what, t_noticed - t_frozen, t_thaw - t_noticed))
        notes.wait("WATCHDOG", "1", t0=t_thaw, timeout=5, alive=alive, count=2)

    # SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1. A refused file too.
    for broken in (False, True):
        if broken:
            with open(config, "a") as f:
                f.write("<not-xml")  # trailing garbage: the reload is refused
        t_hup = time.monotonic()
        os.kill(pid, signal.SIGHUP)
        reloading = notes.wait("RELOADING", "1", t0=t_hup, timeout=10, alive=alive)[0]
        env.check(re.fullmatch(r"[0-9]+", reloading[1].get("MONOTONIC_USEC", "")) is not None,
                  "RELOADING=1 without MONOTONIC_USEC: %r" % reloading[2])
        usec = int(reloading[1]["MONOTONIC_USEC"])
        env.check(abs(usec / 1e6 - time.clock_gettime(time.CLOCK_MONOTONIC)) < 10,
                  "MONOTONIC_USEC %d is not CLOCK_MONOTONIC" % usec)
        again = notes.wait("READY", "1", t0=reloading[0], timeout=10, alive=alive)[0]
        env.check(again[0] >= reloading[0], "READY=1 before RELOADING=1")
        env.wait_log("reload refused" if broken else "configuration reloaded", timeout=10)

    # SIGTERM: STOPPING=1 and a clean exit.
    t_term = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    notes.wait("STOPPING", "1", t0=t_term, timeout=10)
    rc = env.icegate.wait(timeout=30)
    env.icegate = None
    env.check(rc == 0, "icegate exited with %d after SIGTERM" % rc)


if __name__ == "__main__":
    main()
