#!/usr/bin/env python3
"""A phone's media half without ICE, as a desk phone does it: PCMU RTP (20 ms packets) from one
socket (the address and port its SDP names, symmetric RTP) to the far end, counting what comes
back by SSRC and by source. Also the "third party" of the RTP bleed checks (--pt 99 for a payload
type the call never negotiated, or a foreign SSRC).

    rtp_peer.py --local IP:PORT --remote IP:PORT [--count N | --duration S] [--interval 0.02]
                [--pt 0] [--ssrc HEX] [--linger S]

Prints {"ready": true} once bound, {"first_rx": ...} when the first packet comes back, and a JSON
summary at the end (sent, received, by_ssrc, sources). Bounded: it sends --count packets (or for
--duration seconds), then listens --linger seconds more; SIGTERM ends it early with the summary.
Sends only to --remote (an address inside the test's own namespaces)."""
import argparse
import json
import select
import signal
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--local", required=True)
    ap.add_argument("--remote", required=True)
    ap.add_argument("--count", type=int, default=150)
    ap.add_argument("--duration", type=float, default=0)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--pt", type=int, default=0)
    ap.add_argument("--ssrc", default="1111")
    ap.add_argument("--linger", type=float, default=1.0)
    a = ap.parse_args()
    lip, lport = a.local.rsplit(":", 1)
    rip, rport = a.remote.rsplit(":", 1)
    remote = (rip, int(rport))
    ssrc = int(a.ssrc, 16)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((lip, int(lport)))
    print(json.dumps({"ready": True}), flush=True)
    payload = bytes([0xFF]) * 160  # PCMU silence
    count = int(a.duration / a.interval) if a.duration else a.count
    sent = received = 0
    by_ssrc, sources, pts = {}, {}, {}
    first_rx = last_rx = None
    t0 = time.monotonic()
    next_send = t0
    end = None
    while not stop:
        now = time.monotonic()
        if sent < count and now >= next_send:
            hdr = struct.pack("!BBHII", 0x80, a.pt & 0x7F, sent & 0xFFFF, (sent * 160) & 0xFFFFFFFF,
                              ssrc)
            try:
                s.sendto(hdr + payload, remote)
                sent += 1
            except OSError:  # an ICMP error reported on this socket: keep the pace
                sent += 1
            next_send += a.interval
            if sent == count:
                end = time.monotonic() + a.linger
        if end is not None and now >= end:
            break
        wait = max(0.0, min(next_send if sent < count else end, now + 0.1) - now)
        if select.select([s], [], [], wait)[0]:
            try:
                data, src = s.recvfrom(2048)
            except OSError:
                continue
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            received += 1
            key = "%08x" % struct.unpack("!I", data[8:12])[0]
            by_ssrc[key] = by_ssrc.get(key, 0) + 1
            src_s = "%s:%d" % src
            sources[src_s] = sources.get(src_s, 0) + 1
            pt = data[1] & 0x7F
            pts[pt] = pts.get(pt, 0) + 1
            last_rx = time.monotonic() - t0
            if first_rx is None:
                first_rx = last_rx
                print(json.dumps({"first_rx": round(first_rx, 3), "from": src_s}), flush=True)
    print(json.dumps({"sent": sent, "received": received, "by_ssrc": by_ssrc, "sources": sources,
                      "pts": pts, "first_rx": first_rx, "last_rx": last_rx,
                      "ran": round(time.monotonic() - t0, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
