"""Headless Chromium driven over the Chrome DevTools Protocol, standard library only.

Chromium listens for DevTools on 127.0.0.1 at a port it picks itself (--remote-debugging-port=0)
and writes it to DevToolsActivePort in its profile directory; the driver reads that file, asks
/json/list for the page's WebSocket and speaks CDP over a minimal RFC 6455 client (text frames,
client-side masking, fragmentation, ping/pong). Every wait has a deadline.

Chromium is started so that it talks to nothing but loopback: no proxy, no background
networking (component updates, safe browsing, metrics...), and a host resolver that resolves no
name and no address but the one the page is loaded from.
"""

import base64
import json
import os
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request

# No proxy from the environment: everything here is 127.0.0.0/8.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CdpError(Exception):
    pass


def http_get(url, timeout=10, headers=None):
    """(status, body bytes) of a GET on loopback, without any proxy."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class WebSocket:
    """A WebSocket client connection (RFC 6455) to a ws:// URL on loopback."""

    def __init__(self, url, timeout=10):
        if not url.startswith("ws://"):
            raise CdpError("not a ws:// URL: %s" % url)
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        # No Origin header: Chromium only checks the origin of clients that send one.
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise CdpError("WebSocket handshake: connection closed")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise CdpError("WebSocket handshake refused: %r" % status)

    def send(self, text):
        payload = text.encode()
        n = len(payload)
        header = bytes([0x81])  # FIN, text
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("WebSocket read deadline")
            self.sock.settimeout(left)
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise CdpError("WebSocket closed by Chromium")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, deadline):
        """One whole text message; socket.timeout at the deadline."""
        message = b""
        while True:
            b0, b1 = self._exact(2, deadline)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2, deadline))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8, deadline))[0]
            mask = self._exact(4, deadline) if b1 & 0x80 else None
            data = self._exact(n, deadline)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x8:
                raise CdpError("WebSocket closed by Chromium")
            if opcode == 0x9:  # ping -> pong (masked, as every client frame)
                m = os.urandom(4)
                self.sock.sendall(bytes([0x8A, 0x80 | len(data)]) + m +
                                  bytes(b ^ m[i % 4] for i, b in enumerate(data)))
                continue
            if opcode in (0x1, 0x2, 0x0):
                message += data
                if fin:
                    return message.decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Chromium:
    """A headless Chromium with a profile in `workdir`, DevTools on a loopback port of its own."""

    FLAGS = [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-domain-reliability", "--metrics-recording-only",
        "--disable-client-side-phishing-detection", "--disable-breakpad",
        "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"
        "AutofillServerCommunication,CertificateTransparencyComponentUpdater",
        "--no-proxy-server",
        "--password-store=basic", "--use-mock-keychain",
    ]

    def __init__(self, binary, workdir, allow_host, window=(1400, 1000)):
        self.profile = os.path.join(workdir, "chromium-profile")
        os.makedirs(self.profile, exist_ok=True)
        self.log_path = os.path.join(workdir, "chromium.log")
        self.window = window
        # Resolves nothing: the rule applies to IP literals too, so the one address the page
        # lives on is excepted.
        rules = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE %s" % allow_host
        cmd = [binary] + self.FLAGS + [rules, "--user-data-dir=" + self.profile,
                                       "--window-size=%d,%d" % window, "about:blank"]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def devtools_port(self, timeout=30):
        """The port from DevToolsActivePort, once Chromium wrote it (it listens by then)."""
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CdpError("chromium exited with %s before DevTools listened (%s)"
                               % (self.proc.returncode, self.log_path))
            try:
                with open(path) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].strip().isdigit():
                    return int(lines[0])
            except FileNotFoundError:
                pass
            time.sleep(0.05)  # poll period
        raise CdpError("chromium wrote no DevToolsActivePort within %s s" % timeout)

    def page(self, timeout=30):
        """A Cdp session on Chromium's first page target."""
        port = self.devtools_port(timeout)
        deadline = time.monotonic() + timeout
        while True:
            status, body = http_get("http://127.0.0.1:%d/json/list" % port)
            pages = [t for t in json.loads(body) if t.get("type") == "page"] if status == 200 else []
            if pages:
                return Cdp(pages[0]["webSocketDebuggerUrl"])
            if time.monotonic() >= deadline:
                raise CdpError("chromium has no page target after %s s" % timeout)
            time.sleep(0.05)  # poll period

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


class Cdp:
    """Commands and events on one page target. JavaScript dialogs (confirm) are answered by
    `dialog_answer` (True: OK) the moment they open, and recorded in `dialogs`."""

    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.events = []
        self.dialogs = []
        self.dialog_answer = True

    def _event(self, msg):
        self.events.append(msg)
        if msg.get("method") == "Page.javascriptDialogOpening":
            self.dialogs.append(msg["params"])
            self.next_id += 1
            self.ws.send(json.dumps({"id": self.next_id, "method": "Page.handleJavaScriptDialog",
                                     "params": {"accept": bool(self.dialog_answer)}}))

    def call(self, method, timeout=20, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = json.loads(self.ws.recv(deadline))
            except socket.timeout:
                raise CdpError("no answer to %s within %s s" % (method, timeout))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self._event(msg)
            # other ids: answers to the dialog replies sent from _event

    def evaluate(self, expression, timeout=20):
        """The JSON value of a JavaScript expression (awaited when it is a promise)."""
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expression,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise CdpError("JavaScript exception in %r: %s" % (expression[:80], r["exceptionDetails"]))
        return r.get("result", {}).get("value")

    def pump(self, seconds=0.0):
        """Reads events for up to `seconds` (0: only those already received)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                msg = json.loads(self.ws.recv(max(deadline, time.monotonic() + 0.01)))
            except socket.timeout:
                return
            if "method" in msg:
                self._event(msg)

    def wait_event(self, method, since=0, timeout=20):
        """The params of the first `method` event at index >= since of self.events."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events[since:]:
                if e.get("method") == method:
                    return e.get("params", {})
            if time.monotonic() >= deadline:
                raise CdpError("no %s within %s s" % (method, timeout))
            self.pump(min(0.2, max(0.0, deadline - time.monotonic())))

    def click(self, selector, timeout=20):
        """A real mouse click (pressed + released) in the middle of the element."""
        box = self.evaluate(
            "(() => { const e = document.querySelector(%s); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()" % json.dumps(selector))
        if not box:
            raise CdpError("nothing to click: %s" % selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", timeout=timeout, type=kind, x=box["x"],
                      y=box["y"], button="left" if kind != "mouseMoved" else "none",
                      clickCount=1 if kind != "mouseMoved" else 0)

    def screenshot(self, path):
        """A PNG of the whole page (not only the viewport)."""
        r = self.call("Page.captureScreenshot", timeout=30, format="png", captureBeyondViewport=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return path

    def errors(self):
        """JavaScript exceptions and console errors seen so far."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: %s" % json.dumps(p.get("exceptionDetails", {}))[:500])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p.get("type"), json.dumps(p.get("args"))[:500]))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                entry = p["entry"]
                if "favicon.ico" in entry.get("url", ""):
                    continue  # the page has none; Chromium asks anyway
                out.append("log (%s): %s %s" % (entry.get("source"), entry.get("text"),
                                                entry.get("url", "")))
        return out

    def close(self):
        self.ws.close()
