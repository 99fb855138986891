// icegate admin page: reads the control API of the listener that served it (same origin) every
// 2 s and renders it. Text from the API only ever goes into the page as text (textContent,
// createTextNode), never as markup. The bearer token, when the listener wants one, lives in
// sessionStorage (this tab only) and goes out in the Authorization header of fetch().
"use strict";

const REFRESH_MS = 2000;
const TOKEN_KEY = "icegate-admin-token";

const $ = (id) => document.getElementById(id);

let timer = null;
let busy = false;

// ---- DOM helpers: elements built from text, nothing parsed ---------------------------------
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") e.className = v;
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
    else if (k === "title") e.title = v;
    else if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function text(v, none = "–") {
  return v === null || v === undefined || v === "" ? none : String(v);
}

function duration(s) {
  if (typeof s !== "number" || !isFinite(s)) return "–";
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24;
  const m = Math.floor(s / 60) % 60, sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (d) return `${d}d ${h}h ${pad(m)}m`;
  if (h) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

function fill(tbodyId, emptyId, countId, rows) {
  $(tbodyId).replaceChildren(...rows);
  $(emptyId).hidden = rows.length > 0;
  $(countId).textContent = `(${rows.length})`;
}

// ---- the API ---------------------------------------------------------------------------------
class AuthError extends Error {}

// Requests go out one at a time, so that they share one kept-alive connection: the admin
// listener serves each connection on a thread of a small pool, and a browser that opens a
// connection per parallel request makes all but the first wait for a free thread.
let queue = Promise.resolve();

function api(path, method = "GET") {
  const result = queue.then(() => request(path, method));
  queue = result.catch(() => {});
  return result;
}

async function request(path, method) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { method, headers, cache: "no-store", credentials: "omit" });
  if (res.status === 401) throw new AuthError("the admin listener wants a (valid) bearer token");
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const why = body && body.error ? body.error : res.statusText;
    throw new Error(`${method} ${path}: ${res.status} ${why}`);
  }
  return body;
}

// #error: the API cannot be read (cleared by the next good refresh); #notice: an action failed.
function showError(message, id = "error") {
  $(id).textContent = message;
  $(id).hidden = !message;
}

function needToken() {
  stop();
  $("content").hidden = true;
  $("login").hidden = false;
  $("updated").textContent = "not connected";
  $("token").focus();
}

// ---- status ----------------------------------------------------------------------------------
function renderHealth(h) {
  $("st-version").textContent = text(h.version);
  $("st-uptime").textContent = duration(h.uptime_s);
  $("st-public").textContent = text(h.public_address, "none (no STUN, no static address)");
  $("st-trunks").textContent = `${text(h.trunks_up, "0")} / ${text(h.trunks, "0")}`;
  $("st-calls").textContent = text(h.calls, "0");
  $("st-registrations").textContent = text(h.registrations, "0");
  const draining = h.status === "draining";
  $("st-draining").textContent = draining ? "yes: no new calls" : "no";
  $("st-draining").className = draining ? "warn" : "";
}

// ---- calls -----------------------------------------------------------------------------------
function drops(d) {
  const parts = Object.entries(d || {}).map(([reason, n]) => `${reason} ${n}`);
  return parts.length ? parts.join(", ") : "none";
}

function loss(m) {
  if (typeof m.rtp_lost !== "number") return "–";
  const expected = m.rtp_expected;
  if (typeof expected === "number" && expected > 0) {
    return `${m.rtp_lost} (${((100 * m.rtp_lost) / expected).toFixed(1)} %)`;
  }
  return String(m.rtp_lost);
}

// One leg as a small definition list; each value carries a class the tests can find.
function legList(leg) {
  if (!leg) return document.createTextNode("–");
  const dl = el("dl", { class: "leg" });
  const row = (name, cls, value) => {
    dl.appendChild(el("dt", null, name));
    dl.appendChild(el("dd", { class: cls }, value));
  };
  row("Call-ID", "leg-call-id", text(leg.call_id));
  row(leg.kind === "trunk" ? `trunk ${text(leg.trunk, "")}` : text(leg.kind), "leg-party",
      text(leg.party));
  row("SIP / media", "leg-state", `${text(leg.state)} / ${text(leg.media_state)}`);
  const m = leg.media;
  if (m) {
    if (m.ice) {
      const p = m.ice.selected_pair;
      row("ICE pair", "leg-ice-pair", p ? `${text(p.local)} ⇄ ${text(p.remote)}` : "none yet");
    }
    const dtls = m.dtls;
    const srtpProfile = dtls ? dtls.srtp_profile : m.srtp ? m.srtp.profile : null;
    let crypto = "plain RTP";
    if (dtls) {
      crypto = `DTLS ${text(dtls.state)}${dtls.role ? ` (${dtls.role})` : ""}, ${text(srtpProfile)}`;
      if (dtls.failure) crypto += `: ${dtls.failure}`;
    } else if (m.srtp) {
      crypto = `SRTP ${text(srtpProfile)}`;
    }
    row("Crypto", "leg-crypto", crypto);
    row("Packets in / out", "leg-packets", `${text(m.packets_in, "0")} / ${text(m.packets_out, "0")}`);
    row("Loss", "leg-loss", loss(m));
    row("Jitter", "leg-jitter",
        typeof m.jitter_ms === "number" ? `${m.jitter_ms.toFixed(1)} ms` : "–");
    row("Drops", "leg-drops", drops(m.dropped));
  } else {
    row("Media", "leg-media", "no media session");
  }
  return dl;
}

// A call's row lives as long as the call: each refresh rewrites its cells' contents, never the
// row or its buttons, so a click that spans a refresh (press before, release after) still lands.
const callRows = new Map();  // call id -> <tr>

function callRow(id) {
  const tds = ["call-id", "call-parties", "call-direction", "call-state", "call-duration",
               "call-leg-a", "call-leg-b"].map((cls) => el("td", { class: cls }));
  const diagnose = el("button", { type: "button", class: "diagnose",
                                  onclick: () => showDiagnosis(id) }, "Diagnose");
  const hangup = el("button", { type: "button", class: "hangup", onclick: () => hangUp(id) },
                    "Hang up");
  const tr = el("tr", { data: { call: id } }, ...tds, el("td", { class: "actions" }, diagnose, hangup));
  tr.update = (c) => {
    tds[0].textContent = text(c.id);
    tds[1].textContent = `${text(c.from)} → ${text(c.to)}`;
    tds[2].textContent = text(c.direction);
    tds[3].textContent = text(c.state);
    tds[4].textContent = duration(c.duration_s);
    tds[5].replaceChildren(legList(c.a));
    tds[6].replaceChildren(legList(c.b));
  };
  return tr;
}

function renderCalls(list) {
  const rows = [];
  for (const c of list || []) {
    const id = text(c.id, "");
    if (!callRows.has(id)) callRows.set(id, callRow(id));
    const tr = callRows.get(id);
    tr.update(c);
    rows.push(tr);
  }
  for (const id of [...callRows.keys()]) {
    if (!rows.includes(callRows.get(id))) callRows.delete(id);
  }
  const body = $("calls-body");
  const same = body.children.length === rows.length &&
               rows.every((tr, i) => body.children[i] === tr);
  if (same) {
    $("calls-count").textContent = `(${rows.length})`;
  } else {
    fill("calls-body", "calls-empty", "calls-count", rows);
  }
}

async function hangUp(id) {
  if (!window.confirm(`Hang up call ${id}? Both legs get a BYE.`)) return;
  try {
    await api(`/api/v1/calls/${encodeURIComponent(id)}/hangup`, "POST");
    showError("", "notice");
  } catch (e) {
    if (e instanceof AuthError) return needToken();
    showError(`Hang-up of ${id} failed: ${e.message}`, "notice");
  }
  refresh();
}

// ---- diagnosis -------------------------------------------------------------------------------
// A value of the diagnosis: lists as bullet lists, objects as JSON, the rest as text.
function fieldValue(v) {
  if (Array.isArray(v)) return el("ul", null, ...v.map((item) => el("li", null, fieldValue(item))));
  if (v === null || v === undefined) return "–";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

async function showDiagnosis(id) {
  let d;
  try {
    d = await api(`/api/v1/calls/${encodeURIComponent(id)}/diagnosis`);
  } catch (e) {
    if (e instanceof AuthError) return needToken();
    showError(`Diagnosis of ${id} failed: ${e.message}`, "notice");
    return;
  }
  showError("", "notice");
  d = d && typeof d === "object" ? d : {};
  // The verdict is either the answer itself or its "diagnosis" object; show all fields of both.
  const verdict = d.diagnosis && typeof d.diagnosis === "object" && !Array.isArray(d.diagnosis)
    ? d.diagnosis : d;
  $("diagnosis-call").textContent = id;
  const title = verdict.title || verdict.verdict || d.title;
  $("diagnosis-title").textContent = text(title, "");
  $("diagnosis-title").hidden = !title;
  const summary = verdict.summary || d.summary;
  $("diagnosis-summary").textContent = text(summary, "");
  $("diagnosis-summary").hidden = !summary;
  const fields = [];
  const add = (k, v) => {
    if (k === "title" || k === "summary" || v === "" || v === null || v === undefined) return;
    fields.push(el("dt", null, k), el("dd", { class: "diag-field", data: { key: k } }, fieldValue(v)));
  };
  if (verdict !== d) for (const [k, v] of Object.entries(verdict)) add(k, v);
  for (const [k, v] of Object.entries(d)) if (v !== verdict) add(k, v);
  $("diagnosis-fields").replaceChildren(...fields);
  $("diagnosis-json").textContent = JSON.stringify(d, null, 2);
  $("diagnosis").hidden = false;
  $("diagnosis").scrollIntoView({ block: "nearest" });
}

// ---- registrations and trunks ----------------------------------------------------------------
function renderRegistrations(list) {
  fill("registrations-body", "registrations-empty", "registrations-count",
       (list || []).map((r) => el("tr", { data: { user: text(r.user, "") } },
         el("td", { class: "reg-user" }, text(r.user)),
         el("td", { class: "reg-contact" }, text(r.contact)),
         el("td", { class: "reg-source" }, text(r.source)),
         el("td", { class: "reg-transport" }, text(r.transport)),
         el("td", { class: "reg-nat" }, r.behind_nat ? "behind NAT" : "no"),
         el("td", { class: "reg-expires" }, duration(r.expires_in_s)))));
}

function renderTrunks(list) {
  fill("trunks-body", "trunks-empty", "trunks-count",
       (list || []).map((t) => {
         const addresses = (t.addresses || []).map((a, i) =>
           i === t.current ? `${a} (current)` : String(a));
         return el("tr", { data: { trunk: text(t.name, "") } },
           el("td", { class: "trunk-name" }, text(t.name)),
           el("td", { class: `trunk-state ${t.up ? "ok" : "warn"}` }, t.up ? "up" : "down"),
           el("td", { class: "trunk-addresses" }, addresses.length ? addresses.join(", ") : "–"),
           el("td", { class: "trunk-transport" }, text(t.transport)),
           el("td", { class: "trunk-registration" }, text(t.registration)));
       }));
}

// ---- checks (behaviour.md §8) ----------------------------------------------------------------
// A check runs in the daemon and can take a minute: it does not go through the one-at-a-time
// queue (that would stop the refresh meanwhile) but is a fetch of its own, on a connection of
// its own. Its button stays disabled until the answer is in.
async function runCheckRequest(path) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { method: "POST", headers, body: "", cache: "no-store",
                                  credentials: "omit" });
  if (res.status === 401) throw new AuthError("the admin listener wants a (valid) bearer token");
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  return { status: res.status, body: body && typeof body === "object" ? body : {} };
}

// The key fields of one --json document of each check, as [label, value] pairs.
function natFields(r) {
  const server = r.server && typeof r.server === "object" ? r.server : {};
  return [
    ["Server", `${text(server.name, "")} ${text(server.address, "")}`.trim() || "–"],
    ["Mapped address", text(r.mapped, "no answer")],
    ["NAT", r.nat === true ? "yes" : r.nat === false ? "no" : "–"],
    ["Mapping", text(r.mapping)],
    ["Filtering", text(r.filtering)],
    ["Class (RFC 3489)", text(r.rfc3489)],
    ["Recommendation", text(r.recommendation)],
  ];
}

function stunFields(r) {
  const out = [];
  for (const s of Array.isArray(r.servers) ? r.servers : []) {
    let v = s.answered ? `mapped address ${text(s.mapped)}` : `UNREACHABLE: ${text(s.error)}`;
    if (typeof s.rtt_ms === "number") v += `, RTT ${s.rtt_ms} ms`;
    if (s.matches_expect === true) v += ", matches the expected address";
    if (s.matches_expect === false) v += ", DOES NOT MATCH the expected address";
    out.push([`${text(s.name)} (${text(s.address || s.host)})`, v]);
  }
  out.push(["Public IP", text(r.public_ip, "none")]);
  if (r.expect) out.push(["Expected", text(r.expect)]);
  if (r.warning) out.push(["Warning", text(r.warning)]);
  return out;
}

function turnFields(r) {
  const out = [
    ["Server", `${text(r.name, "")} ${text(r.server, "")}`.trim() || "–"],
    ["Credentials", text(r.credentials)],
    ["Relayed address", text(r.relayed, "none")],
    ["Mapped address", text(r.mapped, "none")],
  ];
  for (const s of Array.isArray(r.steps) ? r.steps : []) {
    out.push([text(s.step), `${s.ok ? "ok" : "FAILED"}${s.detail ? `: ${s.detail}` : ""}`]);
  }
  return out;
}

const CHECKS = {
  nat: { tool: "nat-detect", fields: natFields },
  stun: { tool: "stun-check", fields: stunFields },
  turn: { tool: "turn-check", fields: turnFields },
};

function renderCheck(box, outcome) {
  const { status, body } = outcome;
  const ok = status === 200 && body.ok === true;
  let verdict = ok ? "ok" : "failed";
  if (!ok && typeof body.exit_code === "number") verdict += ` (exit code ${body.exit_code})`;
  if (!ok && status !== 200) verdict += ` (HTTP ${status})`;
  const parts = [el("p", { class: `check-verdict ${ok ? "ok" : "failed"}` }, verdict)];
  if (body.error) parts.push(el("p", { class: "check-stderr check-error" }, text(body.error)));
  if (body.stderr) parts.push(el("p", { class: "check-stderr" }, text(body.stderr)));
  const fields = [];
  for (const r of Array.isArray(body.results) ? body.results : []) {
    if (!r || typeof r !== "object") {
      fields.push(el("dt", null, "output"), el("dd", null, text(r)));
      continue;
    }
    for (const [k, v] of box.check.fields(r)) {
      fields.push(el("dt", null, k), el("dd", { class: "check-field", data: { key: k } }, v));
    }
  }
  if (fields.length) parts.push(el("dl", { class: "fields" }, ...fields));
  parts.push(el("details", null, el("summary", null, "JSON"),
                el("pre", null, JSON.stringify(body, null, 2))));
  box.result.replaceChildren(...parts);
  box.result.dataset.ok = ok ? "true" : "false";
  box.result.hidden = false;
}

async function runCheck(name) {
  const check = CHECKS[name];
  const button = $(`${name}-run`);
  const result = $(`${name}-result`);
  const server = $(`${name}-server`).value.trim();
  const params = new URLSearchParams();
  if (server) params.set("server", server);
  if (name === "stun") {
    const expect = $("stun-expect").value.trim();
    if (expect) params.set("expect", expect);
  }
  if (name === "turn" && !server) {
    result.replaceChildren(el("p", { class: "check-verdict failed" },
                              "Name a TURN server (a <server> of <turn>)."));
    result.dataset.ok = "false";
    result.hidden = false;
    return;
  }
  const query = params.toString();
  const path = `/api/v1/checks/${check.tool}${query ? `?${query}` : ""}`;
  button.disabled = true;
  delete result.dataset.ok;
  result.replaceChildren(el("p", { class: "check-verdict muted" }, `running ${check.tool}…`));
  result.hidden = false;
  try {
    renderCheck({ check, result }, await runCheckRequest(path));
  } catch (e) {
    if (e instanceof AuthError) {
      result.hidden = true;
      return needToken();
    }
    result.replaceChildren(el("p", { class: "check-verdict failed" },
                              `failed: ${check.tool} could not be run: ${e.message}`));
    result.dataset.ok = "false";
  } finally {
    button.disabled = false;
  }
}

// ---- the refresh loop ------------------------------------------------------------------------
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const health = await api("/api/v1/health");
    const calls = await api("/api/v1/calls");
    const regs = await api("/api/v1/registrations");
    const trunks = await api("/api/v1/trunks");
    renderHealth(health || {});
    renderCalls(calls && calls.calls);
    renderRegistrations(regs && regs.registrations);
    renderTrunks(trunks && trunks.trunks);
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.loaded = "true";
    showError("");
  } catch (e) {
    if (e instanceof AuthError) {
      sessionStorage.removeItem(TOKEN_KEY);
      needToken();
    } else {
      showError(`Cannot reach icegate: ${e.message}`);
      $("updated").textContent = "connection lost";
    }
  } finally {
    busy = false;
  }
}

function stop() {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

function start() {
  stop();
  $("login").hidden = true;
  $("content").hidden = false;
  $("forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = $("token").value.trim();
    $("token").value = "";
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    start();
  });
  $("forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    needToken();
  });
  $("diagnosis-close").addEventListener("click", () => { $("diagnosis").hidden = true; });
  for (const name of Object.keys(CHECKS)) {
    $(`${name}-run`).addEventListener("click", () => runCheck(name));
  }
  start();
});
