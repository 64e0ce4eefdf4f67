// cacofonisk call board: one row per call in flight, kept live by the
// Server-Sent Events of GET events and a periodic GET calls (the snapshot).
// Plain JavaScript, no build step, no library: the page must work offline.
// URLs are relative, so the board also works when the app is mounted under a prefix.
"use strict";

const REFRESH_MS = 5000;      // periodic snapshot, in case an event was missed
const DEBOUNCE_MS = 250;      // after call events, re-read the snapshot at most this often
const tbody = document.querySelector("#calls tbody");
const rows = new Map();       // "server\u0000call_id" -> {tr, sig, data}
let clockOffset = 0;          // server time minus browser time (s)
let selected = null;          // key of the call shown in the details panel
let refreshTimer = null;
let refreshing = false;
let again = false;
let filterText = "";

function keyOf(server, callId) { return server + "\u0000" + callId; }

function party(cid) {
  if (!cid) return "";
  const name = cid.name || "", number = cid.number || "";
  if (name && number && name !== number) return name + " <" + number + ">";
  return number || name || "unknown";
}

function seconds(since) {
  if (since === null || since === undefined) return "";
  let s = Math.max(0, Math.floor(Date.now() / 1000 + clockOffset - since));
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const two = (n) => (n < 10 ? "0" : "") + n;
  return (h ? h + ":" + two(m) : m) + ":" + two(s);
}

function badges(call) {
  const out = [];
  if (call.hold) out.push(["hold", "on hold", "held by " + party(call.hold.holder)]);
  if (call.park) out.push(["park", "parked " + call.park.space + "@" + call.park.lot,
                           "parked by " + party(call.park.parker)]);
  if (call.queue) out.push(["queue", "queue " + call.queue.queue + " #" + call.queue.position,
                            "waiting in queue " + call.queue.queue]);
  if (call.conference) out.push(["conference", "conference " + call.conference.room +
                                 " (" + (call.conference.members || []).length + ")",
                                 (call.conference.members || []).map(party).join(", ")]);
  return out;
}

function otherParty(call) {
  if (call.callee) return party(call.callee);
  return (call.targets || []).map(party).join(", ");
}

function cell(tr, i, text, title) {
  const td = tr.children[i];
  if (td.textContent !== text) td.textContent = text;
  if (title !== undefined) td.title = title;
}

function makeRow(call) {
  const tr = document.createElement("tr");
  for (let i = 0; i < 8; i++) tr.appendChild(document.createElement("td"));
  tr.children[1].className = "state";
  tr.children[5].className = "num duration";
  tr.children[6].className = "num in-state";
  tr.children[7].className = "badges";
  tr.dataset.server = call.server;
  tr.dataset.callId = call.call_id;
  tr.title = "call " + call.call_id + " — click for its path";
  tr.tabIndex = 0;  // rows are reachable with the keyboard; Enter opens the path
  tr.addEventListener("click", () => select(keyOf(call.server, call.call_id)));
  tr.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select(keyOf(call.server, call.call_id));
    }
  });
  return tr;
}

function updateRow(entry, call) {
  const sig = JSON.stringify(call);
  entry.data = call;
  if (entry.sig === sig) return;
  entry.sig = sig;
  const tr = entry.tr;
  tr.dataset.state = call.state;
  cell(tr, 0, call.server);
  cell(tr, 1, call.state);
  cell(tr, 2, party(call.caller));
  cell(tr, 3, call.to_number || "");
  cell(tr, 4, otherParty(call));
  const box = tr.children[7];
  box.replaceChildren(...badges(call).map(([kind, text, title]) => {
    const span = document.createElement("span");
    span.className = "badge badge-" + kind;
    span.dataset.badge = kind;
    span.textContent = text;
    span.title = title;
    return span;
  }));
  tick(entry);
  applyFilter(entry);
}

function tick(entry) {
  const call = entry.data;
  cell(entry.tr, 5, seconds(call.began));
  cell(entry.tr, 6, seconds(call.state_since));
}

function applyFilter(entry) {
  const text = (entry.data.call_id + " " + entry.tr.textContent).toLowerCase();
  const hide = filterText !== "" && !text.includes(filterText);
  entry.tr.hidden = hide;
}

function removeRow(key) {
  const entry = rows.get(key);
  if (!entry) return;
  entry.tr.remove();
  rows.delete(key);
}

function showCount() {
  const count = document.getElementById("count");
  count.dataset.count = String(rows.size);
  count.textContent = rows.size + (rows.size === 1 ? " call" : " calls") + " in flight";
  document.getElementById("empty").hidden = rows.size > 0;
}

function applySnapshot(body) {
  clockOffset = body.now - Date.now() / 1000;
  const servers = body.servers || [];
  document.getElementById("servers").textContent = servers.length ?
    (servers.length === 1 ? "server " : "servers ") + servers.join(", ") : "";
  document.getElementById("calls").classList.toggle("one-server", servers.length <= 1);
  const calls = body.calls.slice().sort((a, b) =>
    ((a.began || 0) - (b.began || 0)) || (a.call_id < b.call_id ? -1 : 1));
  const seen = new Set();
  calls.forEach((call, index) => {
    const key = keyOf(call.server, call.call_id);
    seen.add(key);
    let entry = rows.get(key);
    if (!entry) {
      entry = {tr: makeRow(call), sig: "", data: call};
      rows.set(key, entry);
    }
    updateRow(entry, call);
    if (tbody.children[index] !== entry.tr) tbody.insertBefore(entry.tr, tbody.children[index] || null);
  });
  for (const key of Array.from(rows.keys())) if (!seen.has(key)) removeRow(key);
  showCount();
  if (selected) refreshDetails(false);
}

async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    const response = await fetch("calls", {cache: "no-store"});
    if (response.ok) applySnapshot(await response.json());
  } catch (err) {
    // the next event or the periodic refresh tries again
  } finally {
    refreshing = false;
    if (again) { again = false; scheduleRefresh(); }
  }
}

function scheduleRefresh() {
  if (refreshTimer !== null) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, DEBOUNCE_MS);
}

function setLive(state, text) {
  const live = document.getElementById("live");
  live.className = "status status-" + state;
  live.textContent = text;
}

function connect() {
  const source = new EventSource("events");
  source.addEventListener("open", () => { setLive("live", "live"); refresh(); });
  source.addEventListener("error", () => setLive("reconnecting", "reconnecting…"));
  source.addEventListener("reset", () => refresh());
  source.addEventListener("call", (message) => {
    let record;
    try { record = JSON.parse(message.data); } catch (err) { return; }
    document.getElementById("live").dataset.lastEventId = message.lastEventId;
    if (record.event === "on_hangup") {
      removeRow(keyOf(record.server, record.call_id));
      showCount();
    }
    if (selected === keyOf(record.server, record.call_id)) refreshDetails(true);
    scheduleRefresh();
  });
}

// -- details: the path the call took through the call machine ------------------

function select(key) {
  for (const entry of rows.values()) entry.tr.classList.toggle("selected", false);
  selected = key;
  const entry = rows.get(key);
  if (entry) entry.tr.classList.add("selected");
  document.getElementById("details").hidden = false;
  refreshDetails(true);
}

function callUrl(key, tail) {
  const [server, callId] = key.split("\u0000");
  return "calls/" + encodeURIComponent(server) + "/" + encodeURIComponent(callId) + tail;
}

let detailsVersion = 0;

async function refreshDetails(redraw) {
  const key = selected;
  const version = ++detailsVersion;
  const entry = rows.get(key);
  const [server, callId] = key.split("\u0000");
  document.getElementById("detail-title").textContent = "call " + callId + " on " + server;
  document.getElementById("detail-state").textContent = entry ?
    entry.data.state + " · " + party(entry.data.caller) + " → " +
    (otherParty(entry.data) || entry.data.to_number || "?") : "ended";
  if (!redraw) return;
  let trace = null;
  try {
    const response = await fetch(callUrl(key, "/path"), {cache: "no-store"});
    if (response.ok) trace = await response.json();
  } catch (err) { trace = null; }
  if (version !== detailsVersion) return;
  const pathList = document.getElementById("detail-path");
  const events = document.getElementById("detail-events");
  const path = trace ? trace.path : [];
  pathList.replaceChildren(...path.map((step) => {
    const li = document.createElement("li");
    li.textContent = step;
    return li;
  }));
  events.replaceChildren(...(trace ? trace.events : []).map((record) => {
    const li = document.createElement("li");
    li.textContent = record.event + (record.reason ? " (" + record.reason + ")" : "");
    return li;
  }));
  const img = document.getElementById("detail-diagram");
  const note = document.getElementById("detail-diagram-note");
  note.textContent = "";
  img.dataset.path = path.join(" ");
  img.onerror = async () => {
    try {
      const response = await fetch(callUrl(key, "/path.svg"));
      const body = await response.json();
      note.textContent = "No diagram: " + body.error;
    } catch (err) { note.textContent = "No diagram for this call."; }
    img.hidden = true;
  };
  img.onload = () => { img.hidden = false; };
  img.src = callUrl(key, "/path.svg") + "?v=" + path.length + (trace && trace.ended ? "e" : "");
}

document.getElementById("close").addEventListener("click", () => {
  selected = null;
  document.getElementById("details").hidden = true;
  for (const entry of rows.values()) entry.tr.classList.remove("selected");
});

document.getElementById("filter").addEventListener("input", (event) => {
  filterText = event.target.value.trim().toLowerCase();
  for (const entry of rows.values()) applyFilter(entry);
});

setInterval(() => { for (const entry of rows.values()) tick(entry); }, 1000);
setInterval(refresh, REFRESH_MS);
refresh();
connect();
