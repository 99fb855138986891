#!/usr/bin/env python3
"""The admin page (gateway/admin/page/) in a real headless Chromium, with a live call.

icegate on 127.0.64.1 (SIP, media, admin listener on :8060, loopback: no token). The phone
(sipp, 127.0.64.3) registers as 1001 and calls 0049301234 out through the trunk (sipp -rtp_echo,
127.0.64.2:5080); ice_phone proves ICE and sends RTP that comes back through both legs. While the
call is up, Chromium (DevTools on a loopback port of its own) loads http://127.0.64.1:8060/ and
the page must show what the control API says: the call's id, both legs' Call-IDs (the phone's
and the one the trunk saw), the ICE pair's remote address (ice_phone's socket), packets in on
both legs, the registration of 1001 and the trunk. "Diagnose" shows the call's diagnosis. A
mouse click on "Hang up", with the confirm dialog accepted, ends the call: both sipp peers get a
BYE, and the page's call list empties. The Checks section has its three buttons; "Detect NAT
type" (no STUN server configured) shows the daemon's nat-detect failing and why. Screenshots of each step go to --screenshots (printed).

Chromium: Debian's `chromium` (tools/deps test); without it the test is skipped (77).
"""
import json
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "calls"))
sys.path.insert(0, HERE)
from harness import Env, SKIP, TestFailure, poll  # noqa: E402
from cdp import Chromium, CdpError, http_get  # noqa: E402

PAGE_DIR = None  # set from --source below

# What the page shows, read from the DOM by class names (app.js gives each value one).
SNAPSHOT_JS = r"""(() => {
  if (!document.getElementById("calls-body")) return null;  // not (yet) the admin page
  const t = (root, sel) => { const e = root.querySelector(sel); return e ? e.textContent : null; };
  const leg = (td) => {
    const out = {};
    for (const dd of td.querySelectorAll("dd")) out[dd.className] = dd.textContent;
    return out;
  };
  const rows = (id, f) => Array.from(document.querySelectorAll("#" + id + " tr")).map(f);
  const status = {};
  for (const dd of document.querySelectorAll("#status dd")) status[dd.id] = dd.textContent;
  return {
    loaded: document.body.dataset.loaded === "true",
    error: document.getElementById("error").hidden ? "" : document.getElementById("error").textContent,
    status,
    callsEmptyShown: !document.getElementById("calls-empty").hidden,
    calls: rows("calls-body", (tr) => {
      const tds = tr.querySelectorAll(":scope > td");
      return {
        data: tr.dataset.call, id: t(tr, ".call-id"), parties: t(tr, ".call-parties"),
        direction: t(tr, ".call-direction"), state: t(tr, ".call-state"),
        duration: t(tr, ".call-duration"), a: leg(tds[5]), b: leg(tds[6]),
        buttons: Array.from(tr.querySelectorAll("button")).map((b) => b.textContent),
      };
    }),
    registrations: rows("registrations-body", (tr) => ({
      user: t(tr, ".reg-user"), contact: t(tr, ".reg-contact"), source: t(tr, ".reg-source"),
      transport: t(tr, ".reg-transport"), nat: t(tr, ".reg-nat"), expires: t(tr, ".reg-expires"),
    })),
    trunks: rows("trunks-body", (tr) => ({
      name: t(tr, ".trunk-name"), state: t(tr, ".trunk-state"),
      addresses: t(tr, ".trunk-addresses"), transport: t(tr, ".trunk-transport"),
      registration: t(tr, ".trunk-registration"),
    })),
    diagnosis: document.getElementById("diagnosis").hidden ? null : {
      call: t(document, "#diagnosis-call"), json: t(document, "#diagnosis-json"),
      title: t(document, "#diagnosis-title"), summary: t(document, "#diagnosis-summary"),
    },
  };
})()"""


def packets(text):
    """'12 / 34' -> (12, 34)."""
    m = re.fullmatch(r"(\d+) / (\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def static_checks(env):
    """The page's files: no markup from strings, nothing from outside the listener."""
    for name in ("index.html", "app.js", "style.css"):
        with open(os.path.join(PAGE_DIR, name)) as f:
            src = f.read()
        env.check("innerHTML" not in src and "outerHTML" not in src and
                  "insertAdjacentHTML" not in src and "document.write" not in src,
                  "%s builds markup from strings" % name)
        env.check(not re.search(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}/", src),
                  "%s refers to something outside the admin listener" % name)


env = Env("admin_page", net=64)
chromium_bin = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium_bin:
    print("SKIP: chromium is not installed (tools/deps test installs Debian's chromium)")
    shutil.rmtree(env.work, ignore_errors=True)
    sys.exit(SKIP)
PAGE_DIR = os.path.join(env.source, "gateway", "admin", "page")
shots = env.args.get("--screenshots") or os.path.join(env.work, "screenshots")
os.makedirs(shots, exist_ok=True)

with env:
    static_checks(env)
    # consent/media timeouts well above the test's length: ice_phone stops after its packets,
    # the call must stay up while Chromium looks at it.
    config = env.config(media_extra={"consent-timeout": "120s", "media-timeout": "120s"})
    env.start_icegate(config)
    from xml.etree import ElementTree as ET
    admin = ET.parse(config).getroot().find("admin")
    env.check(admin is not None, "conf/icegate.xml has no <admin> listener")
    admin_port = int(admin.get("port"))
    env.wait_listening("tcp", env.icegate_ip, admin_port, env.icegate, what="icegate's admin listener")
    base = "http://%s:%d" % (env.icegate_ip, admin_port)

    def api(path):
        status, body = http_get(base + path)
        env.check(status == 200, "GET %s: %s %r" % (path, status, body[:200]))
        return json.loads(body)

    status, body = http_get(base + "/")
    env.check(status == 200 and b"app.js" in body,
              "the admin listener does not serve the page at /: %s %r" % (status, body[:200]))

    env.register("1001", "1001secret")
    env.wait_log(r"REGISTER 1001 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))
    trunk = env.trunk_uas()  # trunk_uas.xml: answers, then waits for a BYE
    out = os.path.join(env.work, "phone-answer.txt")
    # phone_call_hungup.xml: the phone never hangs up itself, it waits for icegate's BYE.
    phone = env.sipp_run("phone", "phone_call_hungup.xml", env.phone_ip, 5060,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "0049301234", "-au", "1001", "-ap", "1001secret",
                                "-key", "from_user", "1001", "-key", "outfile", out]
                         + env.phone_keys())
    answer = env.wait_file(out)
    env.media_through(answer)  # ICE connected, RTP both ways through both legs
    ice_remote = "%s:40000" % env.phone_ip

    # The API's view of the call: the page must show the same.
    calls = poll(lambda: api("/api/v1/calls")["calls"], 10)
    env.check(len(calls) == 1, "the API lists %d calls, expected 1: %s" % (len(calls), calls))
    call = calls[0]
    call_id, a_cid, b_cid = call["id"], call["a"]["call_id"], call["b"]["call_id"]
    env.check(a_cid == answer["call_id"], "leg A's Call-ID %r is not the phone's %r"
              % (a_cid, answer["call_id"]))
    env.check(b_cid and b_cid != a_cid and ("Call-ID: %s" % b_cid) in trunk.text(),
              "leg B's Call-ID %r is not the one the trunk saw" % b_cid)
    health = api("/api/v1/health")

    chrome = Chromium(chromium_bin, env.work, env.icegate_ip)
    env.procs.append(chrome.proc)
    page = None
    try:
        page = chrome.page()
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Log.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000,
                  deviceScaleFactor=1, mobile=False)
        since = len(page.events)
        nav = page.call("Page.navigate", url=base + "/")
        env.check(not nav.get("errorText"), "Chromium cannot load %s/: %r" % (base, nav))
        page.wait_event("Page.loadEventFired", since)

        def snapshot():
            env.check_icegate()
            return page.evaluate(SNAPSHOT_JS)

        def shows_call():
            s = snapshot()
            if not (s and s["loaded"] and s["calls"]):
                return None
            c = s["calls"][0]
            ok = packets(c["a"].get("leg-packets"))[0] > 0 and \
                packets(c["b"].get("leg-packets"))[0] > 0 and s["registrations"] and s["trunks"]
            return s if ok else None

        shown = poll(shows_call, 30, interval=0.2)
        if not shown:
            raise TestFailure("the page does not show the call with packets within 30 s: %s"
                              % json.dumps(snapshot(), indent=1))
        print("admin page with a live call: %s"
              % page.screenshot(os.path.join(shots, "1-live-call.png")))
        print("page snapshot: %s" % json.dumps(shown, indent=1))

        # Status
        st = shown["status"]
        env.check(st["st-version"] == health["version"], "version: %r" % st)
        env.check(st["st-calls"] == "1", "status must count 1 call: %r" % st)
        env.check(st["st-registrations"] == "1", "status must count 1 registration: %r" % st)
        env.check(re.fullmatch(r"\d+ / 1", st["st-trunks"]), "trunks up/total: %r" % st)
        env.check(st["st-draining"] == "no", "not draining: %r" % st)
        env.check(st["st-uptime"] not in ("", "–"), "uptime: %r" % st)
        env.check(not shown["error"], "the page shows an error: %r" % shown["error"])

        # The live call
        env.check(len(shown["calls"]) == 1, "the page lists %d calls" % len(shown["calls"]))
        c = shown["calls"][0]
        env.check(c["id"] == call_id, "call id %r, the API says %r" % (c["id"], call_id))
        env.check(c["parties"] == "1001 → 0049301234", "from -> to: %r" % c["parties"])
        env.check(c["direction"] == call["direction"], "direction: %r" % c["direction"])
        env.check(c["state"] == call["state"], "state %r, API %r" % (c["state"], call["state"]))
        env.check(c["a"].get("leg-call-id") == a_cid, "leg A Call-ID: %r" % c["a"])
        env.check(c["b"].get("leg-call-id") == b_cid, "leg B Call-ID: %r" % c["b"])
        pair = c["a"].get("leg-ice-pair", "")
        env.check(pair.endswith("⇄ " + ice_remote) and pair.startswith(env.icegate_ip + ":"),
                  "leg A's ICE pair must be icegate's port <-> ice_phone %s: %r" % (ice_remote, pair))
        a_in, a_out = packets(c["a"]["leg-packets"])
        b_in, b_out = packets(c["b"]["leg-packets"])
        env.check(a_in >= 20 and b_in >= 20 and a_out > 0 and b_out > 0,
                  "packets in/out on both legs: A %r, B %r" % (c["a"], c["b"]))
        env.check(c["a"].get("leg-crypto") == "plain RTP", "leg A crypto: %r" % c["a"])
        for leg in ("a", "b"):
            for key in ("leg-loss", "leg-jitter", "leg-drops"):
                env.check(c[leg].get(key), "leg %s shows no %s: %r" % (leg, key, c[leg]))
        env.check(c["buttons"] == ["Diagnose", "Hang up"], "buttons: %r" % c["buttons"])

        # Registration and trunk
        regs = [r for r in shown["registrations"] if r["user"] == "1001"]
        env.check(len(regs) == 1, "registration of 1001: %r" % shown["registrations"])
        env.check(regs[0]["source"] == "%s:5060" % env.phone_ip and regs[0]["transport"] == "udp",
                  "registration source/transport: %r" % regs[0])
        env.check(regs[0]["nat"] in ("no", "behind NAT") and re.search(r"\d", regs[0]["expires"]),
                  "registration NAT/expires: %r" % regs[0])
        trunks = api("/api/v1/trunks")["trunks"]
        env.check([t["name"] for t in shown["trunks"]] == [t["name"] for t in trunks],
                  "trunks on the page %r, in the API %r" % (shown["trunks"], trunks))
        pbx = shown["trunks"][0]
        env.check(pbx["name"] == "pbx" and "%s:5080" % env.trunk_ip in pbx["addresses"] and
                  pbx["state"] == ("up" if trunks[0]["up"] else "down"),
                  "trunk pbx: %r (API %r)" % (pbx, trunks[0]))

        # Diagnose: the panel opens with the call's diagnosis.
        page.click('#calls-body tr[data-call="%s"] button.diagnose' % call_id)

        def diagnosis_shown():
            s = snapshot()
            d = s and s["diagnosis"]
            return d if d and d["call"] == call_id and d["json"] else None

        diag = poll(diagnosis_shown, 15, interval=0.2)
        env.check(diag, "the diagnosis panel did not open for %s" % call_id)
        shown_diag = json.loads(diag["json"])  # the panel's JSON is the API's answer, verbatim
        env.check(isinstance(shown_diag, dict) and call_id in diag["json"],
                  "the diagnosis panel does not show the call's diagnosis: %r" % diag)
        # Its verdict (top level or under "diagnosis") as the panel's title and summary.
        verdict = shown_diag.get("diagnosis") if isinstance(shown_diag.get("diagnosis"), dict) \
            else shown_diag
        if verdict.get("title"):
            env.check(diag["title"] == verdict["title"], "diagnosis title: %r" % diag)
        if verdict.get("summary"):
            env.check(diag["summary"] == verdict["summary"], "diagnosis summary: %r" % diag)
        print("diagnosis shown: %s / %s" % (diag["title"], diag["summary"]))
        print("diagnosis panel: %s" % page.screenshot(os.path.join(shots, "2-diagnosis.png")))

        # Hang up with a real mouse click; the confirm dialog is accepted.
        page.click('#calls-body tr[data-call="%s"] button.hangup' % call_id)
        env.check(len(page.dialogs) == 1 and page.dialogs[0].get("type") == "confirm" and
                  call_id in page.dialogs[0].get("message", ""),
                  "Hang up must ask for confirmation naming the call: %r" % page.dialogs)
        phone.expect_success()  # the phone got icegate's BYE and answered it
        trunk.expect_success()  # so did the trunk
        env.wait_log(r"admin: hang-up of call %s requested by" % re.escape(call_id))

        def call_gone():
            s = snapshot()
            return s if s and s["callsEmptyShown"] and not s["calls"] and \
                s["status"]["st-calls"] == "0" else None

        gone = poll(call_gone, 15, interval=0.2)
        env.check(gone, "the page still shows the call after the hang-up: %s" % json.dumps(snapshot()))
        print("after the hang-up: %s" % page.screenshot(os.path.join(shots, "3-hung-up.png")))

        # Checks: the three buttons; "Detect NAT type" without a STUN server in the configuration
        # runs the daemon's nat-detect, which fails and says why (its stderr, shown as text).
        buttons = page.evaluate(
            'Array.from(document.querySelectorAll("#checks button")).map((b) => b.textContent)')
        env.check(buttons == ["Detect NAT type", "Check reachability of this STUN server",
                              "Check a TURN server"], "the Checks buttons: %r" % buttons)
        page.click("#nat-run")

        def nat_result():
            r = page.evaluate('(() => { const r = document.getElementById("nat-result"); '
                              'return r.dataset.ok ? {ok: r.dataset.ok, text: r.textContent, '
                              'disabled: document.getElementById("nat-run").disabled} : null; })()')
            return r

        nat = poll(nat_result, 60, interval=0.2)
        env.check(nat and nat["ok"] == "false" and "failed" in nat["text"] and
                  "no STUN server is configured" in nat["text"] and not nat["disabled"],
                  "Detect NAT type without a STUN server: %r" % nat)
        env.wait_log(r"admin: nat-detect\s+requested by")
        print("checks: %s" % page.screenshot(os.path.join(shots, "4-nat-detect.png")))

        page.pump(0)
        errors = page.errors()
        env.check(not errors, "the page logged errors:\n" + "\n".join(errors))
        page.close()
    except (TestFailure, CdpError) as e:
        if page is not None:  # what the page showed when the test failed
            try:
                print("page at the failure: %s"
                      % page.screenshot(os.path.join(shots, "failure.png")))
                print("page snapshot at the failure: %s" % json.dumps(page.evaluate(SNAPSHOT_JS)))
            except Exception as shot_error:  # noqa: BLE001 - the first failure is what counts
                print("no screenshot of the failure: %s" % shot_error)
        if isinstance(e, CdpError):
            raise TestFailure("Chromium/DevTools: %s" % e)
        raise
    finally:
        chrome.stop()

    env.check("BYE sip:" in phone.text() and "BYE sip:" in trunk.text(),
              "both peers must have received icegate's BYE")
    env.wait_log(r"media closed: A in")
    print("screenshots: %s" % shots)
