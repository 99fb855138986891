#!/usr/bin/env python3
"""UPDATE (RFC 3311) hold and resume, phone -> trunk: hold.py's flow with UPDATE.

icegate must pass each UPDATE to the trunk with the SDP rewritten for the trunk leg (plain
RTP/AVP, a=sendonly / a=sendrecv, no ICE: trunk_uas_update.xml checks) and the trunk's answer
back to the phone rewritten for the phone leg (ICE-lite, recvonly / sendrecv:
phone_call_update.xml checks). Media must flow again after the resume.
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from hold import run

run("update", 56, "UPDATE", "phone_call_update.xml", "trunk_uas_update.xml",
    r"call c\d+: UPDATE from A forwarded\n", r"call c\d+: UPDATE answered 200 on B")
