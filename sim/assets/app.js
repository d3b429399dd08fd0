// The sim's page: everything shown is built from the server's events
// (/api/events), in order; actions are POSTs to /api/*.
"use strict";
const $ = (s) => document.querySelector(s);
const users = new Map();   // staffId → {staffId, nick}
const chats = new Map();   // conversation id → chat
const msgs = new Map();    // conversation id → Map(msg id → msg)
const unread = new Map();
let current = null, info = {botNick: "PicoClaw"}, status = {};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function initials(name) { return (name || "?").slice(0, 2); }
function nick(id) { return id === "bot" ? info.botNick : (users.get(id) || {nick: id}).nick; }

async function post(path, body) {
  const opts = {method: "POST"};
  if (body instanceof FormData) opts.body = body;
  else { opts.body = JSON.stringify(body); opts.headers = {"Content-Type": "application/json"}; }
  const r = await fetch(path, opts);
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
  return j;
}

// --- chat list ---
function renderChats() {
  const ul = $("#chats");
  ul.textContent = "";
  for (const c of chats.values()) {
    const li = el("li");
    li.dataset.chat = c.id;
    if (c.id === current) li.classList.add("active");
    li.append(el("span", "avatar " + c.kind, c.kind === "reasoning" ? "💭" : initials(c.title)));
    li.append(el("span", "title", c.title));
    const n = unread.get(c.id) || 0;
    if (n > 0) li.append(el("span", "badge", String(n)));
    li.onclick = () => openChat(c.id);
    ul.append(li);
  }
}

let pendingOpen = null; // a chat just made, opened when its event arrives
function openChat(id) {
  if (!chats.has(id)) { pendingOpen = id; return; }
  current = id;
  unread.set(id, 0);
  const c = chats.get(id);
  $("#conv-title").textContent = c.title;
  $("#conv-members").textContent = c.kind === "group" ? "(" + c.members.map(nick).join(", ") + ", " + info.botNick + ")" : "";
  $("#composer").hidden = c.kind === "reasoning";
  const from = $("#from");
  from.textContent = "";
  for (const m of c.members || []) {
    const o = el("option", "", nick(m));
    o.value = m;
    from.append(o);
  }
  $("#at-btn").hidden = c.kind !== "group";
  $("#hint").textContent = c.kind === "group" ? "in a group, only a message that @mentions " + info.botNick + " is answered" : "";
  $("#messages").textContent = "";
  for (const m of (msgs.get(id) || new Map()).values()) showMsg(m);
  renderChats();
}

// --- messages ---
function msgNode(m) {
  const d = el("div", "msg " + (m.from === "bot" ? "bot" : "me"));
  d.dataset.id = m.id;
  d.dataset.from = m.from;
  if (m.via) d.dataset.via = m.via;
  d.append(el("div", "avatar" + (m.from === "bot" ? " bot" : ""), initials(m.nick)));
  const body = el("div", "body");
  body.append(el("div", "nick", m.nick + (m.via ? " · via " + m.via : "")));
  const b = el("div", "bubble" + (m.card ? " card" : ""));
  if (m.card) {
    const h = el("div", "card-head" + (m.done ? "" : " streaming"), "AI card");
    b.append(h);
  }
  const content = el("div", "content");
  if (m.image) {
    const img = el("img");
    img.src = m.image;
    img.alt = m.text || "picture";
    content.append(img);
  } else if (m.file) {
    const a = el("a", "file-link", "📄 " + (m.fileName || "file"));
    a.href = m.file;
    content.append(a);
  } else {
    content.innerHTML = m.html; // rendered and escaped by the server
  }
  b.append(content);
  body.append(b);
  d.append(body);
  return d;
}

function showMsg(m) {
  const box = $("#messages");
  const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
  const node = msgNode(m);
  const old = box.querySelector('[data-id="' + m.id + '"]');
  if (old) old.replaceWith(node); else box.append(node);
  if (stick || m.from !== "bot") box.scrollTop = box.scrollHeight;
}

function onMsg(m) {
  if (!msgs.has(m.chat)) msgs.set(m.chat, new Map());
  const isNew = !msgs.get(m.chat).has(m.id);
  msgs.get(m.chat).set(m.id, m);
  if (m.chat === current) showMsg(m);
  else if (isNew) { unread.set(m.chat, (unread.get(m.chat) || 0) + 1); renderChats(); }
}

// --- side log and status ---
function onLog(l) {
  const li = el("li");
  li.append(el("time", "", l.time));
  li.append(el("span", l.level, l.text));
  $("#log").append(li);
  li.scrollIntoView({block: "nearest"});
}
function onStatus(s) {
  status = s;
  const c = $("#conn");
  c.textContent = s.connected ? "Stream connected" : "Stream disconnected: reconnecting…";
  c.classList.toggle("off", !s.connected);
  const api = $("#fault-api");
  api.classList.toggle("on", s.openapiDown);
  api.dataset.fault = s.openapiDown ? "openapi-up" : "openapi-down";
  api.textContent = s.openapiDown ? "Recover the OpenAPI" : "Fail the OpenAPI";
}

// --- composer ---
function hint(text) { $("#hint").textContent = text; }
async function send() {
  const t = $("#text"), c = chats.get(current);
  const text = t.value;
  if (!c || !text.trim()) return;
  const atBot = c.kind === "group" && text.includes("@" + info.botNick);
  const atUsers = (c.members || []).filter((m) => text.includes("@" + nick(m)));
  // Cleared before the post, not after: what is typed meanwhile (the next
  // message, an @ from the picker) must not be wiped when it returns.
  t.value = "";
  try {
    await post("/api/send", {chat: c.id, from: $("#from").value, text, atBot, atUsers});
    hint("");
  } catch (e) {
    if (!t.value) t.value = text; // not lost: back in the composer
    hint(e.message);
  }
}
async function upload(f) {
  const c = chats.get(current);
  if (!c || !f) return;
  const fd = new FormData();
  fd.append("chat", c.id);
  fd.append("from", $("#from").value);
  fd.append("atBot", String(c.kind === "group" && $("#text").value.includes("@" + info.botNick)));
  fd.append("file", f);
  try { await post("/api/upload", fd); hint(""); } catch (e) { hint(e.message); }
}
function toggleAtPicker(show) {
  const p = $("#at-picker"), c = chats.get(current);
  if (!show || !c || c.kind !== "group") { p.hidden = true; return; }
  p.textContent = "";
  const choices = [["bot", info.botNick], ...c.members.filter((m) => m !== $("#from").value).map((m) => [m, nick(m)])];
  for (const [id, name] of choices) {
    const d = el("div", "", "@" + name);
    d.dataset.at = id;
    d.onclick = () => {
      const t = $("#text");
      t.value = t.value.replace(/@$/, "") + "@" + name + " ";
      p.hidden = true;
      t.focus();
    };
    p.append(d);
  }
  p.hidden = false;
}

$("#send").onclick = send;
$("#text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
});
$("#text").addEventListener("input", (e) => { if (e.data === "@") toggleAtPicker(true); });
$("#at-btn").onclick = () => toggleAtPicker($("#at-picker").hidden);
$("#file").onchange = (e) => { upload(e.target.files[0]); e.target.value = ""; };
for (const b of document.querySelectorAll("[data-fault]")) {
  b.onclick = () => post("/api/fault", {fault: b.dataset.fault}).catch((e) => onLog({time: "", level: "error", text: e.message}));
}
$("#add-user").onclick = async () => {
  const n = prompt("Name of the new user");
  if (n) { try { const u = await post("/api/users", {nick: n}); openChat("cidSIMdm" + u.staffId + "=="); } catch (e) { alert(e.message); } }
};
$("#add-group").onclick = () => {
  const box = $("#group-members");
  box.textContent = "";
  for (const u of users.values()) {
    const l = el("label");
    const cb = el("input");
    cb.type = "checkbox";
    cb.value = u.staffId;
    l.append(cb, " " + u.nick);
    box.append(l);
  }
  $("#group-dialog").showModal();
};
$("#group-dialog").addEventListener("close", async () => {
  if ($("#group-dialog").returnValue !== "ok") return;
  const members = [...document.querySelectorAll("#group-members input:checked")].map((c) => c.value);
  try { const c = await post("/api/groups", {title: $("#group-title").value, members}); openChat(c.id); } catch (e) { alert(e.message); }
});

// --- start ---
fetch("/api/info").then((r) => r.json()).then((i) => {
  info = i;
  const m = $("#model");
  m.textContent = i.model;
  m.classList.toggle("echo", i.echo);
  $("#card-note").textContent = i.cardTemplate ? "AI cards on (template " + i.cardTemplate + ")" : "";
  const es = new EventSource("/api/events");
  es.addEventListener("user", (e) => { const u = JSON.parse(e.data).user; users.set(u.staffId, u); });
  es.addEventListener("chat", (e) => {
    const c = JSON.parse(e.data).chat;
    chats.set(c.id, c);
    renderChats();
    if (!current || c.id === pendingOpen) { pendingOpen = null; openChat(c.id); }
  });
  es.addEventListener("msg", (e) => onMsg(JSON.parse(e.data).msg));
  es.addEventListener("log", (e) => onLog(JSON.parse(e.data).log));
  es.addEventListener("status", (e) => onStatus(JSON.parse(e.data).status));
  document.body.dataset.ready = "true";
});
