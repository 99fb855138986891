#!/usr/bin/env python3
"""The registrar (behaviour.md section 7): digest REGISTER, re-REGISTER, Min-Expires, wrong
password, registering someone else, unregister with Expires: 0 and with Contact: *; a call from
the trunk to the user afterwards gets 480 from icegate.
"""
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("registration", net=45)
phone = env.phone_ip
with env:
    env.start_icegate(env.config())

    def bindings(n, after):
        """The registrar's log line for the latest REGISTER says n bindings."""
        hits = env.wait_log(r"REGISTER 1002 from %s:5060\S*: (\d+) binding" % re.escape(phone),
                            count=after)
        env.check(int(hits[after - 1]) == n, "REGISTER #%d: %s bindings, want %d" % (after, hits[after - 1], n))

    def contact_expires():
        """Expires of our Contact in the 200 OK (the registrar's answer)."""
        text = env.last.text()
        ok = text[text.rfind("SIP/2.0 200"):]
        m = re.search(r"Contact: *<sip:1002@%s:5060>;expires=(\d+)" % re.escape(phone), ok)
        env.check(m, "the 200 OK must list the binding with its expiry:\n" + ok)
        return int(m.group(1))

    # Register, then refresh with a shorter expiry: still one binding, the new expiry.
    env.check(env.register_final("1002", "1002secret", phone, name="reg1") == (401, 200),
              "REGISTER with digest credentials must be challenged once, then accepted")
    bindings(1, 1)
    env.check(540 <= contact_expires() <= 600, "expiry of the first binding")
    env.check(env.register_final("1002", "1002secret", phone, expires=300, name="reg2") == (401, 200),
              "re-REGISTER must be accepted")
    bindings(1, 2)
    env.check(240 <= contact_expires() <= 300, "the refresh must shorten the binding to 300 s")

    # Below min-expires (60s): 423 with Min-Expires (RFC 3261 §10.3 step 7).
    first, final = env.register_final("1002", "1002secret", phone, expires=10, name="reg-short")
    env.check(final == 423, "Expires: 10 must get 423 Interval Too Brief, got %s" % final)
    env.check(re.search(r"Min-Expires: *60", env.last.text()), "423 must carry Min-Expires: 60")

    # Wrong password: challenged again (or refused), never registered.
    first, final = env.register_final("1002", "wrong", phone, name="reg-badpw")
    env.check(first == 401 and final in (401, 403), "wrong password: got %s/%s, want 401 then 401/403" % (first, final))
    # User 1001's credentials for 1002's address of record.
    first, final = env.register_final("1002", "1001secret", phone, name="reg-other", auth_user="1001")
    env.check(final == 403, "1001 registering 1002 must get 403, got %s/%s" % (first, final))
    bindings(1, 2)  # neither changed anything

    # Unregister with Expires: 0: the trunk's call now gets 480 from icegate.
    env.check(env.register_final("1002", "1002secret", phone, expires=0, name="unreg0") == (401, 200),
              "REGISTER with Expires: 0 must be accepted")
    bindings(0, 3)
    code = env.invite_final("1002", env.trunk_ip, 5080, name="call-after-unreg0")
    env.check(code == 480, "call to an unregistered user: got %d, want 480" % code)

    # Register again, then remove everything with Contact: *.
    env.check(env.register_final("1002", "1002secret", phone, name="reg3") == (401, 200),
              "REGISTER after unregistering")
    bindings(1, 4)
    env.sipp_run("unreg-star", "phone_unregister_star.xml", phone, 5060,
                 remote="%s:5060" % env.icegate_ip,
                 extra=["-s", "1002", "-au", "1002", "-ap", "1002secret"]).expect_success()
    bindings(0, 5)
    code = env.invite_final("1002", env.trunk_ip, 5080, name="call-after-unreg-star")
    env.check(code == 480, "call after Contact: * unregister: got %d, want 480" % code)
