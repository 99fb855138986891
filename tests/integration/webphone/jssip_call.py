#!/usr/bin/env python3
"""The webphone page (tools/webphone/: JsSIP 3.13) in a real headless Chromium, against icegate.

One ctest per --variant (README.md in this directory has the table):
  page  the admin listener serves /webphone/ (and nothing else of tools/webphone/), JsSIP runs,
        the page's API is there, and Chromium gathers a loopback ICE candidate
        (--allow-loopback-in-peer-connection). No SIP.
  ws    JsSIP registers as 1001 over ws://127.0.89.1:8088, calls 0049301234 (a sipp -rtp_echo
        trunk) and hangs up, then is called by the trunk, answers, and the trunk hangs up;
        getStats() must count >= 50 RTP packets each way in both calls; BYE both ways;
        unregisters. Chromium's fake microphone (--use-fake-ui-for-media-stream).
  wss   the same over wss://127.0.90.1:8089 (a self-signed certificate made with openssl,
        Chromium with --ignore-certificate-errors; the listener's `origins` names the page's).
  mdns  the same over WSS without --use-fake-ui-for-media-stream and without the microphone:
        the page sends a Web Audio tone, so Chromium has no capture permission and hides its
        host address behind an mDNS name (xxxx.local); icegate learns the browser's address
        from its first connectivity check (peer-reflexive).

As root the driver runs itself, icegate, sipp and Chromium in a network namespace it makes (lo,
and a veth pair whose end has 10.89.0.2 and the default route; the other end leads nowhere), so
that everything Chromium sends (candidates, mDNS announcements) stays inside it; mdns needs
that (Chromium names only an address of an interface with a route). Without root, page, ws and
wss run on this host's loopback (--allow-loopback-in-peer-connection) and mdns is skipped.

icegate runs on a configuration made from conf/icegate.xml (calls/harness.py) with the ws and wss
listeners added. The page is loaded from icegate's own admin listener (.1:8060/webphone/), so the
test drives what an operator opens, through the page's window.webphone API (what its buttons
call). JsSIP's debug log (JsSIP:*) and the page's console go to chromium-console.log in the work
directory, printed with icegate's log when the test fails.

77 (skipped) only when chromium, sipp, openssl or the JsSIP bundle (tools/webphone/setup, needs
npm) are missing, or, for mdns, without root (network namespaces).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "calls"))
sys.path.insert(0, os.path.join(HERE, "..", "admin_page"))
from harness import Env, SKIP, TestFailure, poll  # noqa: E402
from cdp import Chromium, CdpError, http_get  # noqa: E402

VARIANTS = {
    "page": {"net": 89, "transport": None, "mdns": False},
    "ws": {"net": 89, "transport": "ws", "mdns": False},
    "wss": {"net": 90, "transport": "wss", "mdns": False},
    "mdns": {"net": 90, "transport": "wss", "mdns": True},
}
WS_PORT, WSS_PORT, ADMIN_PORT = 8088, 8089, 8060
MIN_PACKETS = 50  # RTP packets each way that getStats() must count in every call
TRUNK_NUMBER = "0049301234"
NETNS_ADDR = "10.89.0.2"  # the mdns variant's veth inside its own namespace


def args_of(argv):
    out = {}
    for i in range(0, len(argv) - 1, 2):
        out[argv[i]] = argv[i + 1]
    return out


# ---- prerequisites and the namespace (outer process) ------------------------------------------
def jssip_bundle(source):
    """tools/webphone/vendor/jssip.min.js, made by tools/webphone/setup when missing (npm)."""
    webphone = os.path.join(source, "tools", "webphone")
    bundle = os.path.join(webphone, "vendor", "jssip.min.js")
    if not os.path.isfile(bundle) and shutil.which("npm"):
        r = subprocess.run([os.path.join(webphone, "setup")], capture_output=True, text=True,
                           timeout=300)
        print(r.stdout + r.stderr)
    return bundle if os.path.isfile(bundle) else None


def skip(reason):
    print("SKIP: " + reason)
    sys.stdout.flush()
    sys.exit(SKIP)


def ip(*cmd, check=True):
    r = subprocess.run(["ip"] + list(cmd), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise TestFailure("ip %s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def remove_orphans():
    """Namespaces of earlier runs whose driver died (SIGKILL) without deleting them."""
    for line in ip("netns", "list", check=False).stdout.splitlines():
        m = re.match(r"(wpn-(\d+))\b", line)
        if m and not os.path.exists("/proc/%s" % m.group(2)):
            ip("netns", "del", m.group(1), check=False)


def namespaces_available():
    """Root, and `ip netns add` works."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    probe = "wpn-probe-%d" % os.getpid()
    if ip("netns", "add", probe, check=False).returncode != 0:
        return False
    ip("netns", "del", probe, check=False)
    return True


def run_in_namespace(argv):
    """Runs this driver again inside a fresh network namespace: lo up and a veth pair whose
    one end has NETNS_ADDR and the default route (Chromium gathers and mDNS-names a host
    candidate only on an interface with a route; what it sends there goes nowhere). Returns the
    inner driver's exit code; the namespace is deleted on every way out."""
    remove_orphans()
    ns = "wpn-%d" % os.getpid()
    inner = None

    def cleanup(*_):
        if inner is not None and inner.poll() is None:
            inner.send_signal(signal.SIGTERM)  # its Env ends what it started, then it exits
            try:
                inner.wait(timeout=20)
            except subprocess.TimeoutExpired:
                inner.kill()
                inner.wait()
        ip("netns", "del", ns, check=False)

    def on_signal(signum, _frame):
        # Passed on to the inner driver, whose Env ends what it started; the wait below then
        # returns and the namespace is deleted. (No wait here: the main thread may be inside
        # inner.wait() already, holding its lock.)
        if inner is not None and inner.poll() is None:
            inner.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "link", "add", "wpa", "type", "veth", "peer", "name", "wpb")
        ip("-n", ns, "addr", "add", NETNS_ADDR + "/24", "dev", "wpa")
        ip("-n", ns, "link", "set", "wpa", "up")
        ip("-n", ns, "link", "set", "wpb", "up")
        ip("-n", ns, "route", "add", "default", "dev", "wpa")
        print("network namespace %s: lo, veth wpa %s/24 (default route) <-> wpb" % (ns, NETNS_ADDR))
        sys.stdout.flush()
        # In this process group: whatever stops the whole group (ctest at its timeout) stops it.
        inner = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable,
                                  os.path.abspath(__file__)] + argv + ["--netns", ns])
        return inner.wait()
    finally:
        cleanup()


# ---- the test (inside) ------------------------------------------------------------------------
class WebphoneChromium(Chromium):
    def __init__(self, binary, workdir, allow_host, extra_flags):
        self.FLAGS = Chromium.FLAGS + list(extra_flags)
        super().__init__(binary, workdir, allow_host)


def make_certificate(env):
    """A self-signed certificate for the WSS listener: (cert.pem, key.pem)."""
    cert, key = os.path.join(env.work, "cert.pem"), os.path.join(env.work, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=%s" % env.icegate_ip,
                        "-addext", "subjectAltName=IP:%s" % env.icegate_ip,
                        "-keyout", key, "-out", cert], capture_output=True, text=True, timeout=60)
    env.check(r.returncode == 0, "openssl could not make a certificate: %s" % r.stderr)
    return cert, key


def make_config(env, with_ws):
    path = env.config(media_extra={"consent-timeout": "60s", "media-timeout": "60s"})
    if not with_ws:
        return path
    cert, key = make_certificate(env)
    tree = ET.parse(path)
    sip = tree.getroot().find("sip")
    for listener in list(sip.findall("listener")):
        if listener.get("transport") in ("ws", "wss"):
            sip.remove(listener)  # conf/icegate.xml's own, if it has any: this test's below
    at = len(sip.findall("listener"))
    ws = ET.Element("listener", {"name": "ws", "transport": "ws", "address": env.icegate_ip,
                                 "port": str(WS_PORT)})
    # origins: the page's own (the admin listener), so that the check is exercised and passes.
    wss = ET.Element("listener", {"name": "wss", "transport": "wss", "address": env.icegate_ip,
                                  "port": str(WSS_PORT), "certificate": cert, "private-key": key,
                                  "origins": "http://%s:%d" % (env.icegate_ip, ADMIN_PORT)})
    sip.insert(at, ws)
    sip.insert(at + 1, wss)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return path


class Page:
    """The webphone page in Chromium: its window.webphone API, its console, screenshots."""

    def __init__(self, env, cdp, shots):
        self.env, self.cdp, self.shots = env, cdp, shots
        self.console_path = os.path.join(env.work, "chromium-console.log")
        self.written = 0
        self.closed = False  # Page.close sent: the DevTools connection is gone

    def js(self, expression, timeout=30):
        try:
            return self.cdp.evaluate(expression, timeout=timeout)
        finally:
            self.flush_console()

    def api(self, call, timeout=30):
        """webphone.<call>, awaited; a rejection comes back as {"rejected": message}."""
        return self.js("Promise.resolve().then(() => webphone.%s).then((v) => v === undefined ? null : v,"
                       " (e) => ({rejected: String(e && e.message || e)}))" % call, timeout)

    def state(self):
        return self.js("webphone.state()")

    def stats(self):
        return self.js("webphone.stats()")

    def flush_console(self):
        """Appends the console messages received so far (JsSIP's debug log among them)."""
        events = self.cdp.events
        with open(self.console_path, "a") as f:
            for e in events[self.written:]:
                m, p = e.get("method"), e.get("params", {})
                if m == "Runtime.consoleAPICalled":
                    parts = []
                    for a in p.get("args", []):
                        v = a.get("value", a.get("description", a.get("type")))
                        parts.append(v if isinstance(v, str) else json.dumps(v))
                    # debug's %c colour arguments are noise: drop the CSS ones.
                    text = " ".join(x for x in parts if not x.startswith("color: "))
                    f.write("[%s] %s\n" % (p.get("type"), text.replace("%c", "")))
                elif m == "Runtime.exceptionThrown":
                    f.write("[exception] %s\n" % json.dumps(p.get("exceptionDetails", {}))[:2000])
                elif m == "Log.entryAdded":
                    entry = p.get("entry", {})
                    f.write("[log %s] %s %s\n" % (entry.get("level"), entry.get("text"),
                                                  entry.get("url", "")))
        self.written = len(events)

    def screenshot(self, name):
        try:
            return self.cdp.screenshot(os.path.join(self.shots, name))
        except CdpError as e:
            return "(no screenshot: %s)" % e


def wait_call(page, values, timeout, what):
    s = page.api("wait('call', %s, %d)" % (json.dumps(values), timeout * 1000), timeout + 5)
    if s is None or "rejected" in s:
        raise TestFailure("%s: %s; page state: %s" % (what, s and s["rejected"], json.dumps(page.state())))
    return s


def media_both_ways(env, page, label):
    """Polls getStats() until >= MIN_PACKETS RTP packets each way, and still growing; returns
    the last figures."""
    first = {}

    def enough():
        env.check_icegate()
        s = page.stats()
        if not s:
            return None
        if not first and s["packetsSent"] >= MIN_PACKETS and s["packetsReceived"] >= MIN_PACKETS:
            first.update(s)
            return None
        # Growing: more packets both ways than at the first look that had enough.
        if first and s["packetsSent"] > first["packetsSent"] + 5 and \
                s["packetsReceived"] > first["packetsReceived"] + 5:
            return s
        return None

    s = poll(enough, 30, interval=0.25)
    if not s:
        raise TestFailure("%s: getStats() does not count %d+ growing RTP packets each way within "
                          "30 s: %s; page state: %s" % (label, MIN_PACKETS, json.dumps(page.stats()),
                                                         json.dumps(page.state())))
    env.check(s["pair"] and s["pair"]["state"] == "succeeded" and s["pair"]["remote"] and
              s["pair"]["remote"]["address"] == env.icegate_ip,
              "%s: the selected ICE pair must end at icegate's media address %s: %s"
              % (label, env.icegate_ip, json.dumps(s["pair"])))
    env.check(s["dtls"] and s["dtls"]["state"] == "connected" and s["dtls"]["srtpCipher"],
              "%s: DTLS-SRTP is not up: %s" % (label, json.dumps(s["dtls"])))
    env.check(isinstance(s["rtt"], (int, float)) and 0 <= s["rtt"] < 1.0,
              "%s: no round-trip time: %s" % (label, s["rtt"]))
    pair = s["pair"]
    line = ("%s: getStats: sent %d packets / %d bytes, received %d packets / %d bytes, lost %s, "
            "jitter %s s, rtt %.1f ms, codec %s, pair %s:%s (%s) <-> %s:%s, DTLS %s %s"
            % (label, s["packetsSent"], s["bytesSent"], s["packetsReceived"], s["bytesReceived"],
               s["packetsLost"], s["jitter"], s["rtt"] * 1000,
               s["codec"] and s["codec"]["mimeType"], pair["local"]["address"] or "(hidden)",
               pair["local"]["port"], pair["local"]["type"], pair["remote"]["address"],
               pair["remote"]["port"], s["dtls"]["cipher"], s["dtls"]["srtpCipher"]))
    print(line)
    env.note(line)
    return s


def check_mdns_offer(env, page, label):
    """Every candidate of the browser's SDP is an mDNS name (its host address hidden)."""
    sdp = page.js("webphone.sdp()")
    local = (sdp or {}).get("local") or ""
    cands = re.findall(r"a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ (\S+)", local)
    env.check(cands and all(addr.endswith(".local") for addr, _ in cands),
              "%s: the browser's SDP must hide its host candidates behind .local names: %s"
              % (label, cands))
    print("%s: the browser's candidates: %s" % (label, ", ".join("%s (%s)" % c for c in cands)))


def registration_of(env, base, user):
    status, body = http_get(base + "/api/v1/registrations")
    env.check(status == 200, "GET /api/v1/registrations: %s %r" % (status, body[:200]))
    data = json.loads(body)
    regs = data.get("registrations", data) if isinstance(data, dict) else data
    return [r for r in regs if str(r.get("user")) == user]


def skip_now(env):
    """Ends the test as skipped (77) from inside `with env`: icegate stopped (a crash or a
    sanitizer report there is still a failure), every process ended, the work directory kept."""
    rc = env.stop_icegate()
    for p in env.procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    if rc != 0:
        print("FAIL: icegate exited with %d (sanitizer report or crash?)" % rc)
        env.dump()
        sys.stdout.flush()
        os._exit(1)
    print("work directory (kept): %s" % env.work)
    sys.stdout.flush()
    os._exit(SKIP)


def skip_if_mdns_refused(env, page, s, label):
    """icegate without issue 11 item 2 refuses an offer whose only candidates are mDNS names
    with 488: the mdns variant then reports skipped, with the reason."""
    ended = s.get("ended") or {}
    if ended.get("status") == 488 or re.search(r"mDNS name", env.log()):
        print("SKIP: %s: icegate refused the browser's offer with only mDNS candidates (%s); "
              "accepting such offers (peer-reflexive address from the first check) is issue 11 "
              "item 2, not in this tree yet" % (label, ended))
        page.flush_console()
        return True
    return False


def outgoing_call(env, page, variant, source):
    label = "%s, browser calls the trunk" % variant
    trunk = env.trunk_uas()  # trunk_uas.xml: answers with plain RTP on -rtp_echo, waits for BYE
    r = page.api("call(%s, {source: %s})" % (json.dumps(TRUNK_NUMBER), json.dumps(source)))
    env.check(r and "rejected" not in r, "%s: webphone.call: %s" % (label, r))
    s = wait_call(page, ["connected", "ended", "failed"], 30, label)
    if s["call"] != "connected" and VARIANTS[variant]["mdns"] and skip_if_mdns_refused(env, page, s, label):
        return "skipped"
    env.check(s["call"] == "connected", "%s: the call did not connect: %s" % (label, json.dumps(s)))
    retried = [e for e in s["events"] if e["kind"].startswith("422")]
    if retried:
        # JsSIP offers Session-Expires: 90 (RFC 4028's minimum); the page retries with the
        # Min-SE of icegate's 422 (RFC 4028 §6), which JsSIP alone does not.
        line = ("%s: note: icegate answered JsSIP's INVITE (Session-Expires: 90) with 422 "
                "Session Interval Too Small; the page retried: %s" % (label, retried[0]["detail"]))
        print(line)
        env.note(line)
    if VARIANTS[variant]["mdns"]:
        check_mdns_offer(env, page, label)
    stats = media_both_ways(env, page, label)
    print("%s: %s" % (label, page.screenshot("%s-outgoing.png" % variant)))
    page.api("hangup()")
    s = wait_call(page, ["ended", "failed"], 15, label + ", hang-up")
    env.check(s["call"] == "ended" and s["ended"]["originator"] == "local",
              "%s: the browser's hang-up must end the call locally: %s" % (label, s["ended"]))
    trunk.expect_success()  # the trunk got icegate's BYE and answered it
    env.check(re.search(r"BYE sip:", trunk.text()), "%s: the trunk saw no BYE" % label)
    closed = env.wait_log(r"media closed: A in (\d+) pkts.*?\| B in (\d+) pkts", 15)
    return stats, closed


def incoming_call(env, page, variant, source, nth):
    label = "%s, the trunk calls the browser" % variant
    before = page.state()["calls"]
    out = os.path.join(env.work, "trunk-call.txt")
    trunk = env.sipp_run("trunk-call", "trunk_call.xml", env.trunk_ip, 5080,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "1001", "-mi", env.trunk_ip, "-mp", 6000, "-rtp_echo",
                                "-key", "outfile", out])
    s = poll(lambda: env.check_icegate() or (lambda x: x if x["calls"] > before and
                                               x["call"] in ("ringing", "failed", "ended")
                                               else None)(page.state()), 20, interval=0.1)
    env.check(s, "%s: the browser did not ring within 20 s: %s" % (label, json.dumps(page.state())))
    env.check(s["call"] == "ringing" and s["direction"] == "incoming" and "+4930555123" in s["peer"],
              "%s: the browser must ring with the trunk's caller: %s" % (label, json.dumps(s)))
    r = page.api("answer({source: %s})" % json.dumps(source))
    env.check(r and "rejected" not in r, "%s: webphone.answer: %s" % (label, r))
    s = wait_call(page, ["connected", "ended", "failed"], 30, label)
    if s["call"] != "connected" and VARIANTS[variant]["mdns"] and skip_if_mdns_refused(env, page, s, label):
        return "skipped"
    env.check(s["call"] == "connected", "%s: the call did not connect: %s" % (label, json.dumps(s)))
    if VARIANTS[variant]["mdns"]:
        check_mdns_offer(env, page, label)
    stats = media_both_ways(env, page, label)
    print("%s: %s" % (label, page.screenshot("%s-incoming.png" % variant)))
    call_id = env.wait_file(out)["call_id"]  # written on the 180
    env.send_go(env.trunk_ip, 5080, call_id)  # the cue: the trunk sends its BYE
    s = wait_call(page, ["ended", "failed"], 15, label + ", the trunk's BYE")
    env.check(s["call"] == "ended" and s["ended"]["originator"] == "remote",
              "%s: the trunk's BYE must end the call in the browser: %s" % (label, s["ended"]))
    trunk.expect_success()  # 200 to its BYE
    closed = env.wait_log(r"media closed: A in (\d+) pkts.*?\| B in (\d+) pkts", 15, count=nth)
    return stats, closed


def run(argv):
    a = args_of(argv)
    variant = a.get("--variant", "")
    if variant not in VARIANTS:
        print("usage: jssip_call.py --icegate BIN --source DIR --variant %s" % "|".join(VARIANTS))
        return 2
    v = VARIANTS[variant]
    chromium_bin = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium_bin:
        skip("chromium is not installed (tools/deps test installs Debian's chromium)")
    if v["transport"] and not shutil.which("sipp"):
        skip("sipp is not installed (tools/deps test: sip-tester)")
    if not jssip_bundle(a["--source"]):
        skip("tools/webphone/vendor/jssip.min.js is missing and npm cannot make it "
             "(tools/deps test installs npm and runs tools/webphone/setup)")
    if v["transport"] and not shutil.which("openssl"):
        skip("openssl is not installed (tools/deps test)")
    if "--netns" not in a:
        # ICEGATE_WEBPHONE_NO_NETNS=1: page, ws and wss on the host's loopback even as root.
        if not os.environ.get("ICEGATE_WEBPHONE_NO_NETNS") and namespaces_available():
            return run_in_namespace(argv)
        if v["mdns"]:
            skip("the mdns variant runs in a network namespace of its own: needs root "
                 "(ip netns add)")
        # page, ws, wss on this namespace's loopback: Chromium may then also gather candidates
        # on this host's other interfaces (their checks stay on this host).
        print("no network namespace: Chromium runs on this host's loopback")

    def stopped(signum, _frame):  # Env's exit then ends everything this driver started
        raise TestFailure("stopped by signal %d" % signum)

    signal.signal(signal.SIGTERM, stopped)
    env = Env("webphone-" + variant, net=v["net"])
    env.needs_sipp = bool(v["transport"])
    shots = a.get("--screenshots") or os.path.join(env.work, "screenshots")
    os.makedirs(shots, exist_ok=True)
    with env:
        config = make_config(env, with_ws=bool(v["transport"]))
        env.start_icegate(config)
        env.wait_listening("tcp", env.icegate_ip, ADMIN_PORT, env.icegate, what="icegate's admin listener")
        base = "http://%s:%d" % (env.icegate_ip, ADMIN_PORT)
        served_files(env, base)

        flags = ["--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
                 "--autoplay-policy=no-user-gesture-required"]
        if not v["mdns"]:
            flags.append("--use-fake-ui-for-media-stream")
        if v["transport"] == "wss":
            flags.append("--ignore-certificate-errors")
        chrome = WebphoneChromium(chromium_bin, env.work, env.icegate_ip, flags)
        env.procs.append(chrome.proc)
        cdp = page = None
        try:
            cdp = chrome.page()
            page = Page(env, cdp, shots)
            for domain in ("Page", "Runtime", "Log"):
                cdp.call(domain + ".enable")
            since = len(cdp.events)
            nav = cdp.call("Page.navigate", url=base + "/webphone/")
            env.check(not nav.get("errorText"), "Chromium cannot load %s/webphone/: %r" % (base, nav))
            cdp.wait_event("Page.loadEventFired", since)
            version = page.js("webphone.jssipVersion()")
            env.check(version and version.startswith("3.13."), "JsSIP on the page: %r" % version)
            env.check(page.js("document.body.dataset.ready") == "true", "the page did not start")
            print("webphone page loaded from %s/webphone/ with JsSIP %s" % (base, version))
            page.js("webphone.debug(true)")

            if not v["transport"]:
                loopback_candidates(env, page)
                print("page: %s" % page.screenshot("page.png"))
            else:
                calls(env, page, variant, base)
            if not page.closed:
                page.flush_console()
            exceptions = [e for e in cdp.errors() if e.startswith("exception")]
            env.check(not exceptions, "the page threw:\n" + "\n".join(exceptions))
            cdp.close()
        except CdpError as e:
            raise TestFailure("Chromium/DevTools: %s" % e)
        finally:
            if page is not None:
                try:
                    page.flush_console()
                except Exception:  # noqa: BLE001 - the first failure is what counts
                    pass
            chrome.stop()
    return 0


def served_files(env, base):
    """The page's files from the admin listener, and nothing else of tools/webphone/."""
    for path, want in (("/webphone/", b"webphone.js"), ("/webphone/webphone.js", b"window.webphone"),
                       ("/webphone/style.css", b"keypad"),
                       ("/webphone/vendor/jssip.min.js", b"JsSIP 3.13."),
                       ("/webphone/vendor/LICENSE.jssip.md", b"MIT")):
        status, body = http_get(base + path)
        env.check(status == 200 and want in body, "GET %s: %s %r" % (path, status, body[:120]))
    for path in ("/webphone/package.json", "/webphone/setup", "/webphone/node_modules/jssip/package.json",
                 "/webphone/../README.md"):
        status, body = http_get(base + path)
        env.check(status == 404, "GET %s must be 404, got %s %r" % (path, status, body[:120]))
    src = os.path.join(env.source, "tools", "webphone")
    for name in ("index.html", "webphone.js"):
        with open(os.path.join(src, name)) as f:
            text = f.read()
        env.check("innerHTML" not in text and "insertAdjacentHTML" not in text and
                  "document.write" not in text, "%s builds markup from strings" % name)
        env.check(not re.search(r"(?:src|href)=\"(?:https?:)?//", text),
                  "%s loads something from outside the listener" % name)


def loopback_candidates(env, page):
    """Chromium gathers a host candidate on loopback (--allow-loopback-in-peer-connection):
    what the ws and wss calls rely on."""
    cands = page.js("""(async () => {
      const pc = new RTCPeerConnection({iceServers: []});
      const s = await navigator.mediaDevices.getUserMedia({audio: true});
      s.getTracks().forEach((t) => pc.addTrack(t, s));
      const out = [];
      const done = new Promise((r) => {
        pc.onicecandidate = (e) => e.candidate ? out.push(e.candidate.candidate) : r();
      });
      await pc.setLocalDescription(await pc.createOffer());
      await done;
      pc.close();
      s.getTracks().forEach((t) => t.stop());
      return out;
    })()""", timeout=30)
    loop = [c for c in cands if " udp " in c.lower() and " 127.0.0.1 " in c and "typ host" in c]
    env.check(loop, "Chromium gathered no UDP host candidate on 127.0.0.1: %s" % cands)
    print("Chromium's candidates: %s" % "; ".join(cands))


def calls(env, page, variant, base):
    v = VARIANTS[variant]
    port = WS_PORT if v["transport"] == "ws" else WSS_PORT
    url = "%s://%s:%d" % (v["transport"], env.icegate_ip, port)
    source = "tone" if v["mdns"] else "microphone"
    r = page.api("register(%s)" % json.dumps({"ws": url, "uri": "sip:1001@%s" % env.icegate_ip,
                                               "password": "1001secret", "timeoutMs": 15000}), 25)
    env.check(r and "rejected" not in r and r["registration"] == "registered",
              "JsSIP did not register over %s: %s" % (url, r))
    regs = poll(lambda: registration_of(env, base, "1001"), 10)
    env.check(regs, "the control API shows no registration of 1001")
    transport = str(regs[0].get("transport", "")).lower()
    env.check(transport == v["transport"], "the registration's transport is %r, expected %r: %s"
              % (transport, v["transport"], regs[0]))
    print("%s: registered over %s: %s" % (variant, url, json.dumps(regs[0])))

    out = outgoing_call(env, page, variant, source)
    if out == "skipped":
        skip_now(env)
    _, closed = out
    a_in, b_in = map(int, closed[-1])
    env.check(a_in >= MIN_PACKETS and b_in >= MIN_PACKETS,
              "icegate's media closed line: A in %d, B in %d packets (< %d)" % (a_in, b_in, MIN_PACKETS))
    print("%s: icegate relayed A in %d / B in %d packets (outgoing call)" % (variant, a_in, b_in))

    inc = incoming_call(env, page, variant, source, nth=2)
    if inc == "skipped":
        skip_now(env)
    _, closed = inc
    a_in, b_in = map(int, closed[-1])
    env.check(a_in >= MIN_PACKETS and b_in >= MIN_PACKETS,
              "icegate's media closed line: A in %d, B in %d packets (< %d)" % (a_in, b_in, MIN_PACKETS))
    print("%s: icegate relayed A in %d / B in %d packets (incoming call)" % (variant, a_in, b_in))

    r = page.api("unregister()", 20)
    env.check(r and "rejected" not in r and r["registration"] == "unregistered",
              "JsSIP did not unregister: %s" % r)
    env.check(poll(lambda: not registration_of(env, base, "1001"), 10),
              "the control API still shows 1001 registered after the unregistration")

    # A tab that is closed never unregisters: the registration ends with its WebSocket.
    r = page.api("register(%s)" % json.dumps({"ws": url, "uri": "sip:1001@%s" % env.icegate_ip,
                                               "password": "1001secret", "timeoutMs": 15000}), 25)
    env.check(r and "rejected" not in r and r["registration"] == "registered",
              "JsSIP did not register again: %s" % r)
    env.check(poll(lambda: registration_of(env, base, "1001"), 10),
              "the control API shows no registration of 1001 after the second REGISTER")
    page.flush_console()
    # The tab is closed (Page.close: its DevTools connection goes with it, so no answer is
    # awaited); its WebSocket closes with it.
    page.cdp.next_id += 1
    page.cdp.ws.send(json.dumps({"id": page.cdp.next_id, "method": "Page.close", "params": {}}))
    page.closed = True
    env.check(poll(lambda: not registration_of(env, base, "1001"), 10),
              "1001 is still registered 10 s after its tab (and WebSocket) closed")
    print("%s: the registration ended with the WebSocket (tab closed)" % variant)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
