#!/usr/bin/env python3
"""SIP over TLS (RFC 3261 §26, RFC 5630): a TLS listener with the operator's certificate.
The same PEM files are icegate's DTLS certificate (<dtls certificate= private-key=>): its
fingerprint must be the one logged at start.

icegate gets a TLS listener on 127.0.58.1:5061 with a certificate made for this test. A TLS
client (Python's ssl module, verifying icegate's certificate against that same file) sends
OPTIONS (200 expected) and REGISTER (401 challenge, then 200 with digest credentials) over one
TLS connection; icegate must log the binding with transport tls. A plain TCP connection to the
TLS port gets no SIP answer (the handshake fails), and a broken listener configuration is
refused by check-config with file:line.
"""
import hashlib
import os
import re
import socket
import ssl
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env


def request(method, ip, port, call_id, cseq, extra=""):
    return ("{m} sip:{ip}:{p};transport=tls SIP/2.0\r\n"
            "Via: SIP/2.0/TLS {me}:5061;branch=z9hG4bK-tls-{c}-{n};rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:1001@{ip}>;tag=tls{c}\r\n"
            "To: <sip:1001@{ip}>\r\n"
            "Call-ID: {c}\r\n"
            "CSeq: {n} {m}\r\n"
            "Contact: <sip:1001@{me}:5061;transport=tls>\r\n"
            "{extra}"
            "Content-Length: 0\r\n\r\n").format(m=method, ip=ip, p=port, me="127.0.58.3",
                                                c=call_id, n=cseq, extra=extra)


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed after %r" % data)
        data += chunk
    return data.decode(errors="replace")


def digest(challenge, user, password, method, uri):
    params = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge.split(" ", 1)[1]))
    ha1 = hashlib.md5(("%s:%s:%s" % (user, params["realm"], password)).encode()).hexdigest()
    ha2 = hashlib.md5(("%s:%s" % (method, uri)).encode()).hexdigest()
    if "qop" in params:
        nc, cnonce = "00000001", "0a4f113b"
        resp = hashlib.md5(("%s:%s:%s:%s:auth:%s" % (ha1, params["nonce"], nc, cnonce, ha2))
                           .encode()).hexdigest()
        extra = ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
    else:
        resp = hashlib.md5(("%s:%s:%s" % (ha1, params["nonce"], ha2)).encode()).hexdigest()
        extra = ""
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
            'algorithm=MD5%s' % (user, params["realm"], params["nonce"], uri, resp, extra))


env = Env("tls", net=58)
env.lsan_suppressions = os.path.join(env.source, "tests", "integration", "lsan-sofia-tls.supp")
with env:
    cert_dir, cert_fp = env.phone_certificate("server")
    cert, key = os.path.join(cert_dir, "cert.pem"), os.path.join(cert_dir, "key.pem")
    # The same files serve as the DTLS certificate (<dtls certificate= private-key=>).
    path = env.config(dtls={"certificate": cert, "private-key": key})
    tree = ET.parse(path)
    ET.SubElement(tree.getroot().find("sip"), "listener", name="tls-lo", transport="tls",
                  address=env.icegate_ip, certificate=cert, **{"private-key": key})
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    env.start_icegate(path)
    env.wait_log(r"listening on sips:%s:5061 \(tls-lo\)" % re.escape(env.icegate_ip))
    env.check(re.search(r"DTLS certificate %s \(%s\)" % (re.escape(cert_fp), re.escape(cert)),
                        env.log()),
              "icegate must use the configured PEM files as its DTLS certificate (%s)" % cert_fp)

    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False  # the test certificate names no host; the chain is verified
    with socket.create_connection((env.icegate_ip, 5061), timeout=10,
                                  source_address=(env.phone_ip, 0)) as tcp:
        with ctx.wrap_socket(tcp) as tls:
            env.note("TLS %s, cipher %s" % (tls.version(), tls.cipher()[0]))
            env.check(tls.version() in ("TLSv1.2", "TLSv1.3"), "TLS version %s" % tls.version())
            tls.sendall(request("OPTIONS", env.icegate_ip, 5061, "tls-options", 1).encode())
            r = read_response(tls)
            env.check(r.startswith("SIP/2.0 200"), "OPTIONS over TLS must get 200: %s" % r[:200])
            uri = "sip:%s:5061;transport=tls" % env.icegate_ip
            tls.sendall(request("REGISTER", env.icegate_ip, 5061, "tls-reg", 1,
                                "Expires: 600\r\n").encode())
            r = read_response(tls)
            env.check(r.startswith("SIP/2.0 401"), "REGISTER must be challenged: %s" % r[:200])
            challenge = re.search(r"(?im)^WWW-Authenticate:\s*(.*)$", r).group(1).strip()
            auth = digest(challenge, "1001", "1001secret", "REGISTER", uri)
            tls.sendall(request("REGISTER", env.icegate_ip, 5061, "tls-reg", 2,
                                "Expires: 600\r\nAuthorization: %s\r\n" % auth).encode())
            r = read_response(tls)
            env.check(r.startswith("SIP/2.0 200"), "REGISTER with credentials over TLS must get "
                      "200: %s" % r[:300])
    env.wait_log(r"REGISTER 1001 from %s:\d+/tls: 1 binding" % re.escape(env.phone_ip))

    # Plain TCP on the TLS port: no SIP is spoken there.
    with socket.create_connection((env.icegate_ip, 5061), timeout=3,
                                  source_address=(env.phone_ip, 0)) as tcp:
        tcp.sendall(request("OPTIONS", env.icegate_ip, 5061, "plain", 1).encode())
        try:
            answer = tcp.recv(4096)
        except (socket.timeout, ConnectionResetError):
            answer = b""
        env.check(not answer.startswith(b"SIP/2.0"), "plain SIP on the TLS port was answered")

    # A TLS listener without its key is refused, with the line of the listener.
    bad = os.path.join(env.work, "bad.xml")
    tree.getroot().find("sip").findall("listener")[-1].attrib.pop("private-key")
    tree.write(bad, encoding="UTF-8", xml_declaration=True)
    out = subprocess.run([env.icegate_bin, "check-config", bad], capture_output=True, text=True)
    env.check(out.returncode == 1 and re.search(r"bad\.xml:\d+: error: listener \"tls-lo\": "
                                                r"transport tls needs certificate and private-key",
                                                out.stdout + out.stderr),
              "check-config must refuse a TLS listener without a key: %s" % (out.stdout + out.stderr))
