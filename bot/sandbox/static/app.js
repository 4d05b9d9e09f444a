// thidua sandbox page: a small Telegram-like client for the fake Bot API (no build step, no library).
// Message bodies arrive as HTML made safe on the server (bot/sandbox/render.py); everything else is text.
"use strict";

const S = {
  state: null, strings: {}, persona: null, chat: null, messages: new Map(), gone: new Set(), unread: {},
  pendingQueries: new Set(), pendingSend: [], status: "starting", loads: 0, loading: false,
};
window.sandboxTimings = [];  // ms from a typed message to the bot's first answer in that chat (browser test)

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};
const lang = () => localStorage.getItem("lang") || "";

async function api(path, body) {
  const q = lang() ? (path.includes("?") ? "&" : "?") + "lang=" + lang() : "";
  const opts = body === undefined ? {} : body instanceof FormData
    ? { method: "POST", body } : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path + q, opts);
  let data = {};
  try { data = await res.json(); } catch (e) { data = { ok: false, error: res.statusText }; }
  if (!res.ok || data.ok === false) { toast(data.error || res.statusText); throw new Error(data.error || res.statusText); }
  return data;
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3000);
}

function persona() { return S.state.personas.find((p) => p.key === S.persona); }

async function loadState() {
  S.state = await api("/api/state");
  S.strings = S.state.strings;
  document.documentElement.lang = S.state.lang;
  $("lang").value = S.state.lang;
  for (const [id, key] of [["s-title", "title"], ["s-subtitle", "subtitle"], ["s-persona", "persona"],
                           ["s-chats", "chats"], ["s-language", "language"]]) $(id).textContent = S.strings[key];
  document.title = S.strings.title;
  $("alert-ok").textContent = S.strings.ok;
  $("back").setAttribute("aria-label", S.strings.back);
  $("text").placeholder = S.strings.type_here;
  $("attach").title = S.strings.attach;
  $("send").title = S.strings.send;
  const select = $("persona");
  select.replaceChildren(...S.state.personas.map((p) => {
    const o = el("option", "", `${p.name} · ${p.role}`);
    o.value = p.key;
    return o;
  }));
  if (!S.persona || !persona()) S.persona = localStorage.getItem("persona") || "head";
  if (!persona()) S.persona = S.state.personas[0].key;
  select.value = S.persona;
  showStatus(S.state.status);
  renderPersona();
}

function chatTitle(c) { return c.type === "private" ? S.state.bot.name : c.title; }

function renderPersona() {
  const p = persona();
  $("persona-role").textContent = p.unit ? `${p.role} — ${p.unit}` : p.role;
  const ids = p.chats.map((c) => c.id);
  if (!ids.includes(S.chat)) {
    const saved = Number(localStorage.getItem("chat:" + p.key));
    S.chat = ids.includes(saved) ? saved : ids[0];
  }
  renderChats();
  openChat(S.chat);
}

function renderChats() {
  const p = persona();
  $("chats").replaceChildren(...p.chats.map((c) => {
    const li = el("li");
    li.dataset.chatId = c.id;
    if (c.id === S.chat) li.classList.add("active");
    const avatar = el("div", "avatar", c.type === "private" ? "🤖" : "👥");
    avatar.style.background = c.type === "private" ? "#54a3e6" : "#e17076";
    const meta = el("div", "meta");
    meta.append(el("b", "", chatTitle(c)), el("small", "", c.type === "private" ? S.strings.private : S.strings.group));
    li.append(avatar, meta);
    const n = S.unread[`${p.key}:${c.id}`];
    if (n) li.append(el("span", "badge", String(n)));
    li.addEventListener("click", () => { openChat(c.id); document.getElementById("app").classList.add("in-chat"); });
    return li;
  }));
}

async function openChat(chatId) {
  const p = persona();
  S.chat = chatId;
  localStorage.setItem("chat:" + p.key, chatId);
  delete S.unread[`${p.key}:${chatId}`];
  renderChats();
  const c = p.chats.find((x) => x.id === chatId);
  $("chat-title").textContent = chatTitle(c);
  $("chat-sub").textContent = c.type === "private" ? "@" + S.state.bot.username : S.strings.group;
  // Until its history is in, the chat shows only "loading": the previous chat's messages are gone at
  // once, and nothing that could be tapped is drawn and then moved by the history landing above it.
  // What the event stream brings for this chat meanwhile is kept and laid over the history: a bot's
  // answer to a deep link's /start can arrive before the history does, which may have been read
  // before that answer existed.
  const load = ++S.loads;
  S.loading = true;
  S.messages = new Map();
  S.gone = new Set();
  const box = $("messages");
  box.dataset.loading = "1";
  box.replaceChildren(el("div", "empty", S.strings.loading));
  let history = [];
  try {
    history = (await api(`/api/messages?persona=${p.key}&chat=${chatId}`)).messages;
  } finally {
    if (load === S.loads) {  // a later openChat (another chat, or this one again) supersedes this one
      const live = S.messages;
      S.messages = new Map(history.filter((m) => !S.gone.has(m.id)).map((m) => [m.id, m]));
      for (const [id, m] of live) S.messages.set(id, m);
      S.loading = false;
      delete box.dataset.loading;
      renderMessages();
    }
  }
}

function renderMessages() {
  const box = $("messages");
  const list = [...S.messages.values()].sort((a, b) => a.id - b.id);
  if (!list.length) { box.replaceChildren(el("div", "empty", S.strings.no_messages)); return; }
  box.replaceChildren(...list.map(renderMessage));
  box.scrollTop = box.scrollHeight;
}

function hhmm(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function renderMessage(m) {
  if (m.service) {
    const s = el("div", "service", m.service);
    s.dataset.id = m.id;
    return s;
  }
  const p = persona();
  const wrap = el("div", "msg" + (m.from.id === p.id ? " own" : "") + (m.from.is_bot ? " from-bot" : ""));
  wrap.dataset.id = m.id;
  const bubble = el("div", "bubble");
  const c = p.chats.find((x) => x.id === S.chat);
  if (c && c.type !== "private" && m.from.id !== p.id) bubble.append(el("div", "sender", m.from.name));
  if (m.photo) {
    const ph = el("div", "photo");
    const img = el("img");
    img.src = m.photo.url || `/api/file/${m.photo.file_id}`;
    img.alt = "";
    img.addEventListener("load", () => { const b = $("messages"); b.scrollTop = b.scrollHeight; });
    ph.append(img);
    bubble.append(ph);
  }
  if (m.document) {
    const d = el("div", "doc");
    const a = el("a", "", m.document.name);
    a.href = `/api/file/${m.document.file_id}`;
    a.download = m.document.name;
    const info = el("div");
    info.append(a, el("small", "", `${(m.document.size / 1024).toFixed(1)} KB · ${S.strings.download}`));
    d.append(el("div", "icon", "📄"), info);
    bubble.append(d);
  }
  const body = el("div", "body");
  body.innerHTML = m.html;  // safe: rendered with a whitelist on the server
  const time = el("span", "time", (m.edited ? S.strings.edited + " " : "") + hhmm(m.date));
  body.append(time);
  bubble.append(body);
  wrap.append(bubble);
  if (m.buttons && m.buttons.length) {
    const kb = el("div", "keyboard");
    for (const row of m.buttons) {
      const r = el("div", "kb-row");
      for (const b of row) {
        const btn = el("button", "kb-btn" + (b.url ? " url" : ""), b.text);
        btn.type = "button";
        btn.addEventListener("click", () => b.url ? openUrl(b.url) : press(m, b.data));
        r.append(btn);
      }
      kb.append(r);
    }
    wrap.append(kb);
  }
  return wrap;
}

function upsert(m) {
  S.messages.set(m.id, m);
  if (S.loading) return;  // drawn with the history (openChat)
  const box = $("messages");
  const old = box.querySelector(`[data-id="${m.id}"]`);
  const node = renderMessage(m);
  if (old) { old.replaceWith(node); return; }
  const empty = box.querySelector(".empty");
  if (empty) empty.remove();
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.append(node);
  if (atBottom || m.from.id === persona().id || m.from.is_bot) box.scrollTop = box.scrollHeight;
}

function botLink(url) {
  return url.startsWith(`https://t.me/${S.state.bot.username}`);
}

async function openUrl(url) {
  if (!botLink(url)) { window.open(url, "_blank", "noopener"); return; }
  // A deep link opens the private chat with the bot and sends /start <payload>, as in Telegram.
  const p = persona();
  await api("/api/open", { persona: p.key, url });
  S.pendingSend.push({ chat: p.id, t0: performance.now() });
  if (S.chat !== p.id) openChat(p.id);
}

async function press(m, data) {
  const res = await api("/api/click", { persona: S.persona, chat: S.chat, message_id: m.id, data });
  S.pendingQueries.add(res.query_id);
}

async function sendText(text) {
  const chat = S.chat;
  S.pendingSend.push({ chat, t0: performance.now() });
  try {
    await api("/api/send", { persona: S.persona, chat, text });
  } catch (e) {
    S.pendingSend = S.pendingSend.filter((x) => x.chat !== chat);
    throw e;
  }
}

function onEvent(ev) {
  if (ev.type === "status") { showStatus(ev.status); return; }
  if (ev.type === "callback_answer") {
    if (S.pendingQueries.has(ev.id)) {
      S.pendingQueries.delete(ev.id);
      if (ev.text) {
        if (ev.show_alert) { $("alert-text").textContent = ev.text; $("alert").showModal(); } else toast(ev.text);
      }
    }
    return;
  }
  const m = ev.message;
  if (m.from.is_bot && ev.type !== "delete") {
    const i = S.pendingSend.findIndex((x) => x.chat === ev.chat_id);
    if (i >= 0) { window.sandboxTimings.push(performance.now() - S.pendingSend[i].t0); S.pendingSend.splice(i, 1); }
  }
  const p = persona();
  if (ev.chat_id === S.chat && p.chats.some((c) => c.id === ev.chat_id)) {
    if (ev.type === "delete") { S.messages.delete(m.id); S.gone.add(m.id); const n = $("messages").querySelector(`[data-id="${m.id}"]`); if (n) n.remove(); }
    else upsert(m);
    return;
  }
  if (ev.type === "message") {
    // Count it as unread for every persona who sees that chat.
    for (const other of S.state.personas) {
      if (other.chats.some((c) => c.id === ev.chat_id) && m.from.id !== other.id && !(other.key === S.persona && ev.chat_id === S.chat)) {
        const k = `${other.key}:${ev.chat_id}`;
        S.unread[k] = (S.unread[k] || 0) + 1;
      }
    }
    renderChats();
  }
  if (m.service) loadState();  // a member added, a group upgraded: the chat lists may change
}

function showStatus(status) {
  const changed = S.status !== status;
  S.status = status;
  const box = $("status");
  box.className = "status " + status;
  box.dataset.status = status;
  if (status === "ready") {
    box.textContent = "● " + S.strings.ready + " — " + (S.state && S.state.demo ? S.strings.hint_demo : S.strings.hint_setup);
  } else box.textContent = S.strings[status] || status;
  if (changed && status === "ready" && S.state) loadState();
}

function connect() {
  const source = new EventSource("/api/events");
  source.onmessage = (e) => onEvent(JSON.parse(e.data));
  source.onerror = () => { $("status").textContent = S.strings.offline; };
  source.onopen = () => { if (S.state) { showStatus(S.status); openChat(S.chat); } };
}

function init() {
  $("persona").addEventListener("change", (e) => {
    S.persona = e.target.value;
    localStorage.setItem("persona", S.persona);
    renderPersona();
  });
  $("lang").addEventListener("change", (e) => { localStorage.setItem("lang", e.target.value); loadState(); });
  $("back").addEventListener("click", () => document.getElementById("app").classList.remove("in-chat"));
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    sendText(text).catch(() => { $("text").value = text; });
  });
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("attach").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", async () => {
    const f = $("file").files[0];
    $("file").value = "";
    if (!f) return;
    const form = new FormData();
    form.append("persona", S.persona);
    form.append("chat", S.chat);
    form.append("file", f, f.name);
    await api("/api/upload", form).catch(() => {});
  });
  $("messages").addEventListener("click", (e) => {
    const a = e.target.closest("a");
    if (e.target.classList.contains("spoiler")) { e.target.classList.add("shown"); return; }
    if (!a) return;
    if (a.classList.contains("cmd")) { e.preventDefault(); sendText(a.dataset.command).catch(() => {}); return; }
    if (a.href && botLink(a.href)) { e.preventDefault(); openUrl(a.href).catch(() => {}); }
  });
  loadState().then(connect);
}

init();
