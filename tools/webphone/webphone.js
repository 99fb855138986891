// icegate webphone: a softphone page on JsSIP (vendor/jssip.min.js, bundled by ./setup from npm).
// SIP over WebSocket (RFC 7118) to icegate, media with the browser's own WebRTC stack (ICE,
// DTLS-SRTP). Every button goes through `window.webphone`, the same small API the browser tests
// drive, so a test does exactly what an operator clicks. Text from the network only ever goes
// into the page as text (textContent), never as markup. The password is never stored.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SETTINGS_KEY = "icegate-webphone";
  const MAX_EVENTS = 300;

  // What the page shows and the tests read: one object, changed only through set().
  const st = {
    transport: "disconnected",  // disconnected | connecting | connected
    registration: "unregistered",  // unregistered | registering | registered | failed
    registrationCause: null,
    call: "idle",  // idle | calling | progress | ringing | connected | ended | failed
    direction: null,  // outgoing | incoming
    peer: null,  // the other party's URI
    calls: 0,  // calls begun since the page loaded
    ended: null,  // {originator: local|remote|system, cause, status}
    error: null,
    events: [],  // [{t, kind, detail}]
  };

  let ua = null;
  let session = null;
  let outgoing = null;  // the last call() (target, JsSIP options): a 422 retries it
  let localStream = null;
  let toneContext = null;
  let statsTimer = null;
  let waiters = [];
  const hooked = new WeakSet();

  function JsSIPOrThrow() {
    if (!window.JsSIP) {
      throw new Error("JsSIP is not loaded: vendor/jssip.min.js is missing (run tools/webphone/setup)");
    }
    return window.JsSIP;
  }

  // ---- state and events ------------------------------------------------------------------------
  function note(kind, detail) {
    st.events.push({ t: Date.now(), kind, detail: detail === undefined ? null : detail });
    if (st.events.length > MAX_EVENTS) st.events.shift();
    render();
  }

  function set(changes, kind, detail) {
    Object.assign(st, changes);
    note(kind, detail);
    const ready = waiters.filter((w) => w.pred(st));
    waiters = waiters.filter((w) => !ready.includes(w));
    for (const w of ready) {
      clearTimeout(w.timer);
      w.resolve(snapshot());
    }
  }

  function snapshot() {
    return JSON.parse(JSON.stringify(st));
  }

  // A promise of the state once pred(state) holds; rejected after timeoutMs with the state.
  function waitFor(pred, timeoutMs, what) {
    if (pred(st)) return Promise.resolve(snapshot());
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        waiters = waiters.filter((x) => x !== w);
        reject(new Error(`${what}: not within ${timeoutMs} ms (registration ${st.registration}` +
                         `, call ${st.call}, transport ${st.transport})`));
      }, timeoutMs);
      waiters.push(w);
    });
  }

  function showError(e) {
    const msg = e && e.message ? e.message : String(e);
    st.error = msg;
    $("error").textContent = msg;
    $("error").hidden = false;
    note("error", msg);
  }

  function clearError() {
    st.error = null;
    $("error").hidden = true;
  }

  // ---- local audio -----------------------------------------------------------------------------
  // microphone: getUserMedia (the browser asks for permission); tone: a 440 Hz sine from Web
  // Audio, a real track without microphone permission (the browser then hides its host
  // addresses behind mDNS names); none: receive only.
  async function makeStream(source) {
    if (source === "none") return null;
    if (source === "tone") {
      toneContext = toneContext || new AudioContext();
      const osc = toneContext.createOscillator();
      const gain = toneContext.createGain();
      gain.gain.value = 0.2;
      osc.frequency.value = 440;
      const dest = toneContext.createMediaStreamDestination();
      osc.connect(gain).connect(dest);
      osc.start();
      toneContext.resume().catch(() => {});
      return dest.stream;
    }
    return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  }

  function mediaOptions(stream) {
    const o = { pcConfig: { iceServers: [] }, rtcOfferConstraints: { offerToReceiveAudio: true,
                                                                        offerToReceiveVideo: false } };
    if (stream) o.mediaStream = stream;
    else o.mediaConstraints = { audio: false, video: false };
    return o;
  }

  function stopLocal() {
    if (localStream) for (const t of localStream.getTracks()) t.stop();
    localStream = null;
  }

  // ---- the UA ----------------------------------------------------------------------------------
  async function register(opts) {
    clearError();
    const J = JsSIPOrThrow();
    const o = Object.assign({}, opts || {});
    if (!o.ws || !o.uri) throw new Error("register: a WebSocket URL and a SIP URI are needed");
    $("ws-url").value = o.ws;  // the form shows what is in use, whoever called
    $("sip-uri").value = o.uri;
    if (ua) await stopUa();
    const socket = new J.WebSocketInterface(o.ws);
    ua = new J.UA({
      sockets: [socket],
      uri: o.uri,
      password: o.password || "",
      display_name: o.displayName || undefined,
      // REGISTER once the WebSocket is open (and again after a reconnection).
      register: true,
      register_expires: o.expires || 600,
      user_agent: "icegate-webphone JsSIP/" + J.version,
      // One WebSocket for the whole test or session: no reconnection storm while testing.
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    });
    const mine = ua;
    ua.on("connecting", () => mine === ua && set({ transport: "connecting" }, "ws connecting", o.ws));
    ua.on("connected", () => mine === ua && set({ transport: "connected" }, "ws connected", o.ws));
    ua.on("disconnected", (e) => {
      if (mine !== ua) return;
      const why = e && e.error ? "connection error" : (e && (e.reason || e.code)) || "closed";
      // A WebSocket that fails before the REGISTER went out ends the registration attempt too.
      const failed = st.registration === "registering"
        ? { registration: "failed", registrationCause: "WebSocket " + why } : {};
      set(Object.assign({ transport: "disconnected" }, failed), "ws disconnected", why);
    });
    ua.on("registered", () => mine === ua &&
      set({ registration: "registered", registrationCause: null }, "registered", o.uri));
    ua.on("unregistered", (e) => mine === ua &&
      set({ registration: "unregistered", registrationCause: e && e.cause || null }, "unregistered",
          e && e.cause || null));
    ua.on("registrationFailed", (e) => mine === ua &&
      set({ registration: "failed", registrationCause: describeCause(e) }, "registration failed",
          describeCause(e)));
    ua.on("newRTCSession", (e) => onNewSession(e));
    set({ registration: "registering", registrationCause: null }, "register", o.uri);
    ua.start();
    const s = await waitFor((x) => x.registration === "registered" || x.registration === "failed",
                            o.timeoutMs || 15000, "registration");
    if (s.registration !== "registered") {
      await stopUa();  // no reconnection attempts behind the operator's back
      throw new Error("registration failed: " + s.registrationCause);
    }
    return s;
  }

  async function unregister(opts) {
    if (!ua) return snapshot();
    const timeout = (opts && opts.timeoutMs) || 10000;
    if (st.registration === "registered") {
      ua.unregister();
      await waitFor((x) => x.registration !== "registered", timeout, "unregistration");
    }
    await stopUa(timeout);
    return snapshot();
  }

  async function stopUa(timeout) {
    const old = ua;
    ua = null;
    if (!old) return;
    const connected = old.isConnected();
    const closed = new Promise((resolve) => {
      old.on("disconnected", resolve);
      setTimeout(resolve, timeout || 5000);  // a bound, not a wait: stop() resolves it first
    });
    old.stop();
    if (connected) await closed;
    set({ transport: "disconnected",
          registration: st.registration === "registered" ? "unregistered" : st.registration },
        "ua stopped");
  }

  function describeCause(e) {
    if (!e) return null;
    const r = e.response;
    return r ? `${r.status_code} ${r.reason_phrase} (${e.cause})` : e.cause || null;
  }

  // ---- calls -----------------------------------------------------------------------------------
  function hookPc(pc) {
    if (!pc || hooked.has(pc)) return;
    hooked.add(pc);
    pc.addEventListener("track", (e) => {
      $("remote-audio").srcObject = e.streams && e.streams[0] ? e.streams[0] : new MediaStream([e.track]);
      note("remote track", e.track.kind);
    });
    pc.addEventListener("iceconnectionstatechange", () => note("ice", pc.iceConnectionState));
    pc.addEventListener("connectionstatechange", () => note("connection", pc.connectionState));
  }

  function onNewSession(e) {
    const s = e.session;
    if (e.originator === "remote" && session && !session.isEnded()) {
      note("busy", s.remote_identity.uri.toString());
      s.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    session = s;
    const incoming = e.originator === "remote";
    set({ call: incoming ? "ringing" : "calling", direction: incoming ? "incoming" : "outgoing",
          peer: s.remote_identity.uri.toString(), ended: null, calls: st.calls + 1 },
        incoming ? "incoming call" : "outgoing call", s.remote_identity.uri.toString());
    s.on("peerconnection", (p) => hookPc(p.peerconnection));
    if (s.connection) hookPc(s.connection);
    s.on("progress", (p) => s === session && st.call !== "connected" &&
      set({ call: incoming ? "ringing" : "progress" }, "progress",
          p.response ? `${p.response.status_code} ${p.response.reason_phrase}` : null));
    s.on("accepted", () => s === session && set({ call: "connected" }, "accepted"));
    s.on("confirmed", () => s === session && set({ call: "connected" }, "confirmed"));
    s.on("ended", (x) => s === session && finish("ended", x));
    s.on("failed", (x) => s === session && !retryAfter422(x) && finish("failed", x));
    s.on("newDTMF", (x) => note("dtmf " + x.originator, x.dtmf.tone));
  }

  // RFC 4028 §6: a 422 (Session Interval Too Small) is retried once with the Min-SE it names as
  // Session-Expires. JsSIP does not do it by itself (it offers 90 s; a server whose Min-SE is
  // higher, as Sofia-SIP's and FreeSWITCH's default of 120 s, refuses that).
  function retryAfter422(x) {
    const r = x.message;
    if (!outgoing || outgoing.retried || x.originator !== "remote" || !r || r.status_code !== 422) {
      return false;
    }
    const minSe = parseInt(r.getHeader && r.getHeader("Min-SE"), 10);
    if (!(minSe > 0)) return false;
    outgoing.retried = true;
    outgoing.options.sessionTimersExpires = minSe;
    note("422 Session Interval Too Small", `retrying with Session-Expires: ${minSe}`);
    setTimeout(() => {
      try {
        const again = ua.call(outgoing.target, outgoing.options);
        if (again.connection) hookPc(again.connection);
      } catch (e) {
        finish("failed", x);
        showError(e);
      }
    }, 0);
    return true;
  }

  function finish(how, x) {
    const status = x.message && x.message.status_code ? x.message.status_code : null;
    stopLocal();
    stopStats();
    set({ call: how, ended: { originator: x.originator, cause: x.cause, status } }, "call " + how,
        `${x.originator}: ${x.cause}${status ? " " + status : ""}`);
  }

  async function call(target, opts) {
    clearError();
    // Registration is not needed to place a call (a web app that only calls), a UA is.
    if (!ua) throw new Error("call: register first (that also opens the WebSocket)");
    if (session && !session.isEnded()) throw new Error("call: a call is in progress");
    const source = (opts && opts.source) || $("audio-source").value;
    $("target").value = String(target);
    $("audio-source").value = source;
    localStream = await makeStream(source);
    outgoing = { target: String(target), options: mediaOptions(localStream), retried: false };
    const s = ua.call(outgoing.target, outgoing.options);
    if (s.connection) hookPc(s.connection);
    startStats();
    return snapshot();
  }

  async function answer(opts) {
    clearError();
    if (!session || st.call !== "ringing") throw new Error("answer: no incoming call");
    const source = (opts && opts.source) || $("audio-source").value;
    $("audio-source").value = source;
    localStream = await makeStream(source);
    session.answer(mediaOptions(localStream));
    startStats();
    return snapshot();
  }

  function hangup() {
    if (session && !session.isEnded()) session.terminate();
    return snapshot();
  }

  // RFC 4733 telephone-events by default (what the trunk gets as RTP events); "INFO" sends
  // SIP INFO (application/dtmf-relay) instead.
  function dtmf(tones, opts) {
    if (!session || st.call !== "connected") throw new Error("dtmf: no call in progress");
    const transportType = (opts && opts.type === "info") ? "INFO" : "RFC2833";
    session.sendDTMF(String(tones), { transportType, duration: 100, interToneGap: 70 });
    note("dtmf local", String(tones));
    return snapshot();
  }

  // ---- statistics ------------------------------------------------------------------------------
  function cand(c) {
    return c ? { address: c.address || c.ip, port: c.port, type: c.candidateType,
                 protocol: c.protocol } : null;
  }

  // The figures of the call's audio: packets and bytes each way, loss, jitter, round-trip time
  // (the selected ICE pair's, from connectivity checks, else the RTCP one), the codec, the ICE
  // pair and DTLS/SRTP. null without a call.
  async function stats() {
    const pc = session && session.connection;
    if (!pc) return null;
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    let out = null, inb = null, remoteIn = null, transport = null;
    report.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "audio") out = s;
      else if (s.type === "inbound-rtp" && s.kind === "audio") inb = s;
      else if (s.type === "remote-inbound-rtp" && s.kind === "audio") remoteIn = s;
      else if (s.type === "transport") transport = s;
    });
    let pair = transport && byId.get(transport.selectedCandidatePairId);
    if (!pair) report.forEach((s) => { if (s.type === "candidate-pair" && s.nominated) pair = s; });
    const codec = byId.get((out && out.codecId) || (inb && inb.codecId));
    const rtt = pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime
      : remoteIn && typeof remoteIn.roundTripTime === "number" ? remoteIn.roundTripTime : null;
    return {
      packetsSent: out ? out.packetsSent : 0,
      bytesSent: out ? out.bytesSent : 0,
      packetsReceived: inb ? inb.packetsReceived : 0,
      bytesReceived: inb ? inb.bytesReceived : 0,
      packetsLost: inb ? inb.packetsLost : null,
      jitter: inb ? inb.jitter : null,
      rtt,
      codec: codec ? { mimeType: codec.mimeType, clockRate: codec.clockRate,
                       payloadType: codec.payloadType } : null,
      pair: pair ? { state: pair.state, nominated: pair.nominated,
                     local: cand(byId.get(pair.localCandidateId)),
                     remote: cand(byId.get(pair.remoteCandidateId)),
                     requestsSent: pair.requestsSent, responsesReceived: pair.responsesReceived }
        : null,
      dtls: transport ? { state: transport.dtlsState, cipher: transport.dtlsCipher,
                          srtpCipher: transport.srtpCipher, role: transport.dtlsRole } : null,
      iceState: pc.iceConnectionState,
      connectionState: pc.connectionState,
    };
  }

  function sdp() {
    const pc = session && session.connection;
    return pc ? { local: pc.localDescription && pc.localDescription.sdp,
                  remote: pc.remoteDescription && pc.remoteDescription.sdp } : null;
  }

  function startStats() {
    stopStats();
    statsTimer = setInterval(() => { stats().then(renderStats, () => {}); }, 1000);
  }

  function stopStats() {
    if (statsTimer) {
      clearInterval(statsTimer);
      statsTimer = null;
      stats().then(renderStats, () => {});  // the call's last figures stay on the page
    }
  }

  // ---- rendering -------------------------------------------------------------------------------
  function render() {
    $("st-transport").textContent = st.transport;
    $("st-registration").textContent = st.registration +
      (st.registrationCause ? ` (${st.registrationCause})` : "");
    $("st-call").textContent = st.call + (st.direction && st.call !== "idle" ? ` (${st.direction})` : "");
    $("st-peer").textContent = st.peer || "–";
    $("st-ended").textContent = st.ended ? `${st.ended.originator}: ${st.ended.cause}` +
      (st.ended.status ? ` ${st.ended.status}` : "") : "–";
    const registered = st.registration === "registered";
    const active = st.call === "calling" || st.call === "progress" || st.call === "ringing" ||
      st.call === "connected";
    $("unregister").disabled = !ua;
    $("call").disabled = !registered || active;
    $("answer").disabled = !(st.call === "ringing" && st.direction === "incoming");
    $("hangup").disabled = !active;
    for (const b of $("keypad").querySelectorAll("button")) b.disabled = st.call !== "connected";
    document.body.dataset.call = st.call;
    document.body.dataset.registration = st.registration;
    const list = $("events");
    const last = st.events[st.events.length - 1];
    if (last && list.dataset.count !== String(st.events.length) + ":" + last.t) {
      list.dataset.count = String(st.events.length) + ":" + last.t;
      const li = document.createElement("li");
      li.textContent = `${new Date(last.t).toISOString().slice(11, 23)} ${last.kind}` +
        (last.detail !== null ? ` — ${last.detail}` : "");
      list.prepend(li);
      while (list.children.length > 50) list.lastChild.remove();
    }
  }

  function renderStats(s) {
    if (!s) return;
    $("sx-packets").textContent = `${s.packetsSent} / ${s.packetsReceived}`;
    $("sx-bytes").textContent = `${s.bytesSent} / ${s.bytesReceived}`;
    $("sx-loss").textContent = `${s.packetsLost === null ? "–" : s.packetsLost} / ` +
      (s.jitter === null ? "–" : `${Math.round(s.jitter * 1000)} ms`);
    $("sx-rtt").textContent = s.rtt === null ? "–" : `${(s.rtt * 1000).toFixed(1)} ms`;
    const c = s.codec;
    $("sx-codec").textContent = c ? `${c.mimeType}/${c.clockRate} (pt ${c.payloadType})` : "–";
    const p = s.pair;
    const end = (x) => `${x.address || "(hidden)"}:${x.port} (${x.type})`;
    $("sx-pair").textContent = p && p.local && p.remote
      ? `${end(p.local)} ⇄ ${end(p.remote)}, ${p.state}` : "–";
    const d = s.dtls;
    $("sx-dtls").textContent = d ? `${d.state}, ${d.cipher || "–"}, ${d.srtpCipher || "–"}` : "–";
  }

  // ---- the form --------------------------------------------------------------------------------
  function loadSettings() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}");
    } catch (e) {
      saved = {};
    }
    const q = new URLSearchParams(location.search);
    $("ws-url").value = q.get("ws") || saved.ws || "";
    $("sip-uri").value = q.get("uri") || saved.uri || "";
    $("target").value = q.get("target") || saved.target || "";
    $("audio-source").value = q.get("audio") || saved.audio || "microphone";
  }

  function saveSettings() {
    try {
      localStorage.setItem(SETTINGS_KEY, JSON.stringify({
        ws: $("ws-url").value, uri: $("sip-uri").value, target: $("target").value,
        audio: $("audio-source").value }));
    } catch (e) { /* storage off: nothing to keep */ }
  }

  function guarded(f) {
    return (ev) => {
      if (ev) ev.preventDefault();
      Promise.resolve().then(f).catch(showError);
    };
  }

  function setDebug(on) {
    const J = JsSIPOrThrow();
    if (on) J.debug.enable("JsSIP:*");
    else J.debug.disable();
    $("debug").checked = !!on;
    return !!on;
  }

  function init() {
    loadSettings();
    for (const k of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = k;
      b.addEventListener("click", guarded(() => dtmf(k)));
      $("keypad").appendChild(b);
    }
    $("account").addEventListener("submit", guarded(() => {
      saveSettings();
      return register({ ws: $("ws-url").value.trim(), uri: $("sip-uri").value.trim(),
                        password: $("password").value });
    }));
    $("unregister").addEventListener("click", guarded(() => unregister()));
    $("dial").addEventListener("submit", guarded(() => {
      saveSettings();
      return call($("target").value.trim());
    }));
    $("answer").addEventListener("click", guarded(() => answer()));
    $("hangup").addEventListener("click", guarded(() => hangup()));
    $("debug").addEventListener("change", guarded(() => setDebug($("debug").checked)));
    render();
    if (!window.JsSIP) showError(new Error("JsSIP is not loaded: vendor/jssip.min.js is missing " +
                                           "(run tools/webphone/setup)"));
    document.body.dataset.ready = "true";
  }

  window.webphone = {
    register, unregister, call, answer, hangup, dtmf, stats, sdp,
    state: snapshot,
    // Resolves once state.call (or another key) has one of the values: the tests' wait.
    wait: (key, values, timeoutMs) => waitFor((x) => [].concat(values).includes(x[key]),
                                              timeoutMs || 15000, `${key} in ${values}`),
    debug: setDebug,
    jssipVersion: () => (window.JsSIP ? window.JsSIP.version : null),
  };
  init();
})();
