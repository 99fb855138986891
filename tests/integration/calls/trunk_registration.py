#!/usr/bin/env python3
"""icegate registers with its trunk (behaviour.md section 7): the trunk (sipp registrar at
127.0.51.2:5080) challenges with 401, checks the digest icegate sends (username "icegate",
password "trunksecret") and accepts; icegate logs the trunk as registered. On SIGTERM icegate
removes its registration (Expires: 0), again with valid credentials."""
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("trunk_registration", net=51)
with env:
    registrar = env.sipp_run("registrar", "trunk_registrar.xml", env.trunk_ip, 5080,
                             extra=["-key", "user", "icegate", "-key", "secret", "trunksecret"])
    cfg = env.config()
    # <registration> inside the trunk: added to the generated file.
    text = open(cfg).read().replace(
        '<address host="%s" port="5080" />' % env.trunk_ip,
        '<address host="%s" port="5080" /><registration username="icegate" '
        'password="trunksecret" expires="300s" />' % env.trunk_ip)
    env.check("<registration " in text, "could not add <registration> to the configuration")
    open(cfg, "w").write(text)
    env.start_icegate(cfg)
    env.wait_log(r"trunk pbx: registered \(200\)")
    rc = env.stop_icegate()
    env.check(rc == 0, "icegate exited %d" % rc)
    registrar.expect_success(timeout=20)
