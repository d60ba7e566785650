// The local Slack page: polls /sim/state, renders Block Kit, sends what the user does.
// Vanilla JS, no build step. All text goes through textContent or escapeHtml.
"use strict";

const POLL_MS = 700;
const ui = {
  userId: null,
  view: { kind: "dm", id: null }, // kind: dm | home | channel
  snap: null,
  version: null,
  renderedKey: null,
  modalKey: null,
  polling: false,
  dismissed: new Set(JSON.parse(localStorage.getItem("sim.dismissed") || "[]")),
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "html") el.innerHTML = value; // only for escaped mrkdwn output
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function decodeSlackEntities(s) {
  return String(s).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// Slack's emoji shortcodes (`:white_check_mark:`) as the Unicode emoji Slack shows for them:
// /static/emoji.json, loaded once at start. Unknown names stay as typed, as in Slack.
let EMOJI = {};
const emojify = (s) => String(s).replace(/:([a-z0-9_+-]+):(?::skin-tone-[2-6]:)?/g, (m, name) => EMOJI[name] || m);

async function loadEmoji() {
  try {
    const response = await fetch("/static/emoji.json");
    if (response.ok) EMOJI = await response.json();
  } catch (error) {
    EMOJI = {}; // shortcodes then show as text, which is still readable
  }
}

// ------------------------------------------------------------------ dates

// `<!date^1392734382^{date_short_pretty} at {time}^https://link|fallback>`: Slack formats the time
// in the reader's own time zone (here: the browser's) with these tokens.
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th"}`;
}

function dayDiff(date, now) {
  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return Math.round((midnight(date) - midnight(now)) / 86400000);
}

function relativeDay(date, now) {
  return { "-1": "yesterday", 0: "today", 1: "tomorrow" }[dayDiff(date, now)] || null;
}

function clock(date, seconds) {
  const options = { hour: "numeric", minute: "2-digit", hour12: true };
  if (seconds) options.second = "2-digit";
  return date.toLocaleTimeString("en-US", options);
}

function ago(date, now) {
  const seconds = Math.round((now - date) / 1000);
  const future = seconds < 0;
  const abs = Math.abs(seconds);
  const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
  const found = units.find(([, size]) => abs >= size);
  if (!found) return future ? "in a few seconds" : "a few seconds ago";
  const count = Math.floor(abs / found[1]);
  const phrase = `${count} ${found[0]}${count === 1 ? "" : "s"}`;
  return future ? `in ${phrase}` : `${phrase} ago`;
}

function formatSlackDate(epochSeconds, format, now) {
  const date = new Date(epochSeconds * 1000);
  const y = date.getFullYear();
  const m = date.getMonth();
  const d = date.getDate();
  const pad = (n) => String(n).padStart(2, "0");
  const plain = {
    date_num: `${y}-${pad(m + 1)}-${pad(d)}`,
    date_slash: `${pad(d)}/${pad(m + 1)}/${y}`,
    date: `${MONTHS[m]} ${ordinal(d)}, ${y}`,
    date_short: `${MONTHS[m].slice(0, 3)} ${d}, ${y}`,
    date_long: `${WEEKDAYS[date.getDay()]}, ${MONTHS[m]} ${ordinal(d)}, ${y}`,
    date_long_full: `${MONTHS[m]} ${d}, ${y}`,
    time: clock(date, false),
    time_secs: clock(date, true),
    ago: ago(date, now),
  };
  const relative = relativeDay(date, now);
  const pretty = { date_pretty: "date", date_short_pretty: "date_short", date_long_pretty: "date_long" };
  return format.replace(/\{([a-z_]+)\}/g, (token, name, offset) => {
    let text = plain[name];
    if (name in pretty) text = relative || plain[pretty[name]];
    if (name === "day_divider_pretty") {
      text = relative || (y === now.getFullYear() ? `${WEEKDAYS[date.getDay()]}, ${MONTHS[m]} ${ordinal(d)}` : plain.date_long);
    }
    if (text === undefined) return token;
    return offset === 0 && relative && text === relative ? text[0].toUpperCase() + text.slice(1) : text;
  });
}

function renderDate(target, fallback) {
  const [, stamp, format, ...link] = target.split("^");
  const seconds = Number(stamp);
  if (!/^\d+$/.test(stamp || "") || !format) return escapeHtml(fallback || target);
  const text = escapeHtml(formatSlackDate(seconds, format, new Date()));
  const title = escapeHtml(fallback || new Date(seconds * 1000).toString());
  const url = link.join("^");
  if (/^(https?:|mailto:)/i.test(url)) {
    return `<a class="date" href="${escapeHtml(url)}" title="${title}" target="_blank" rel="noopener noreferrer">${text}</a>`;
  }
  return `<time class="date" datetime="${new Date(seconds * 1000).toISOString()}" title="${title}">${text}</time>`;
}

// ------------------------------------------------------------------ text

function userName(id) {
  const snap = ui.snap;
  if (snap && id === snap.workspace.bot.user_id) return snap.workspace.bot.name;
  const user = snap && snap.users.find((u) => u.id === id);
  return user ? user.name : id;
}

function renderAngle(inner) {
  const [target, label] = inner.split("|", 2).map(decodeSlackEntities);
  if (/^@[UW]/.test(target)) return `<span class="mention">@${escapeHtml(label || userName(target.slice(1)))}</span>`;
  if (/^#C/.test(target)) return `<span class="mention">#${escapeHtml(label || target.slice(1))}</span>`;
  if (/^!date\^/.test(target)) return renderDate(target, label);
  if (/^!/.test(target)) {
    const name = label || target.slice(1).split("^")[0];
    return `<span class="mention">${escapeHtml(name.startsWith("@") ? name : `@${name}`)}</span>`;
  }
  if (/^(https?:|mailto:)/i.test(target)) {
    return `<a href="${escapeHtml(target)}" target="_blank" rel="noopener noreferrer">${escapeHtml(label || target)}</a>`;
  }
  return escapeHtml(`<${inner}>`);
}

// Slack mrkdwn, minimally: *bold*, _italic_, ~strike~, `code`, ```pre```, > quote, <links>, <@U…>.
function mrkdwn(raw) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let s = String(raw).replace(/<([^<>\n]+)>/g, (m, inner) => hold(renderAngle(inner)));
  s = escapeHtml(emojify(decodeSlackEntities(s)));
  s = s.replace(/```\n?([\s\S]*?)```/g, (m, code) => hold(`<pre>${code}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (m, code) => hold(`<code>${code}</code>`));
  const edge = "(^|[\\s(\\u0000])";
  const end = "(?=$|[\\s.,!?:;)\\u0000])";
  s = s.replace(new RegExp(`${edge}\\*(?!\\s)([^*\\n]+?)\\*${end}`, "g"), "$1<b>$2</b>");
  s = s.replace(new RegExp(`${edge}_(?!\\s)([^_\\n]+?)_${end}`, "g"), "$1<i>$2</i>");
  s = s.replace(new RegExp(`${edge}~(?!\\s)([^~\\n]+?)~${end}`, "g"), "$1<s>$2</s>");
  s = s.split("\n").map((line) => (line.startsWith("&gt; ") ? `<q class="quote">${line.slice(5)}</q>` : line)).join("<br>");
  for (let i = 0; i < 3 && s.includes("\u0000"); i += 1) s = s.replace(/\u0000(\d+)\u0000/g, (m, n) => held[Number(n)]);
  return s;
}

function textNode(obj, cls) {
  if (!obj) return null;
  if (typeof obj === "string") return h("span", { class: cls, html: mrkdwn(obj) });
  if (obj.type === "mrkdwn" && !obj.verbatim) return h("span", { class: cls, html: mrkdwn(obj.text || "") });
  return h("span", { class: cls }, obj.emoji === false ? obj.text : emojify(obj.text || ""));
}

const plain = (obj) => (obj && obj.text) || "";

function formatTs(ts) {
  const date = new Date(Number(String(ts).split(".")[0]) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// ------------------------------------------------------------------ network

// A click on something that is in no version of the message or view any more (it was deleted,
// the view closed or was replaced). Slack's client would have removed it before the click; the
// page, which polls, says it is gone and shows what is there now, not an internal error.
const STALE_CLICK_PATHS = ["/sim/action", "/sim/view_action"];
const STALE_CLICK = "That button is gone: the message or view changed before your click arrived.";

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = { error: `HTTP ${response.status}` }; }
  if (response.status === 404 && STALE_CLICK_PATHS.includes(path)) toast(STALE_CLICK, false);
  else if (!response.ok) toast(`${path}: ${data.error || response.status}`, true);
  else if (data.error) toast(`The app did not answer: ${data.error}`, true);
  else if (data.status && data.status !== 200) toast(`The app answered HTTP ${data.status}: ${String(data.body).slice(0, 200)}`, true);
  setTimeout(poll, 0);
  return data;
}

let toastTimer = null;
function toast(message, isError) {
  const el = $("toast");
  el.textContent = message;
  el.className = `toast${isError ? " error" : ""}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

// ------------------------------------------------------------------ interactive elements

function optionLabel(option) { return plain(option.text); }

function findOption(element, value) {
  const all = (element.options || []).concat(...(element.option_groups || []).map((g) => g.options || []));
  return all.find((o) => o.value === value) || null;
}

function selectFor(element, selectedValue, onChange, multiple) {
  const select = h("select", { class: "select", multiple: multiple || null, "data-type": element.type });
  if (!multiple) select.append(h("option", { value: "" }, plain(element.placeholder) || "Select an option"));
  const addOption = (parent, option) => parent.append(h("option", { value: option.value }, optionLabel(option)));
  (element.options || []).forEach((o) => addOption(select, o));
  (element.option_groups || []).forEach((g) => {
    const group = h("optgroup", { label: plain(g.label) });
    (g.options || []).forEach((o) => addOption(group, o));
    select.append(group);
  });
  const chosen = [].concat(selectedValue || []);
  Array.from(select.options).forEach((o) => { if (chosen.includes(o.value) && o.value) o.selected = true; });
  if (onChange) select.addEventListener("change", () => onChange(select));
  return select;
}

function confirmed(element) {
  if (!element.confirm) return true;
  const c = element.confirm;
  return window.confirm(`${plain(c.title)}\n\n${plain(c.text)}`);
}

// `send(element, selection)` delivers a block_actions; `where` says what surface we are on.
function interactiveElement(element, blockId, send) {
  const type = element.type;
  if (type === "button") {
    const cls = `btn${element.style ? ` ${element.style}` : ""}`;
    return h("button", {
      type: "button", class: cls,
      onclick: () => {
        if (!confirmed(element)) return;
        if (element.url) window.open(element.url, "_blank", "noopener");
        send(element, blockId, {});
      },
    }, emojify(plain(element.text)));
  }
  if (["static_select", "external_select", "overflow"].includes(type)) {
    const initial = element.initial_option && element.initial_option.value;
    return selectFor(element, initial, (select) => {
      const option = findOption(element, select.value);
      if (option) send(element, blockId, { selected_option: option });
    });
  }
  if (type === "users_select") {
    const select = h("select", { class: "select" }, h("option", { value: "" }, plain(element.placeholder) || "Select a person"),
      ui.snap.users.map((u) => h("option", { value: u.id }, u.name)));
    select.addEventListener("change", () => select.value && send(element, blockId, { selected_user: select.value }));
    return select;
  }
  if (type === "datepicker") {
    const input = h("input", { type: "date", class: "input", value: element.initial_date || null });
    input.addEventListener("change", () => send(element, blockId, { selected_date: input.value || null }));
    return input;
  }
  if (type === "image") return h("span", { class: "image-alt", title: element.alt_text }, `🖼 ${element.alt_text || "image"}`);
  return h("span", { class: "unsupported" }, `[${type}]`);
}

// ------------------------------------------------------------------ blocks

function renderBlocks(blocks, send, options) {
  return h("div", { class: "blocks" }, (blocks || []).map((block) => renderBlock(block, send, options || {})));
}

function renderBlock(block, send, options) {
  const id = block.block_id;
  switch (block.type) {
    case "header":
      return h("div", { class: "block header" }, textNode(block.text));
    case "divider":
      return h("hr", { class: "block divider" });
    case "section": {
      const body = h("div", { class: "section-body" },
        block.text ? h("div", { class: "section-text" }, textNode(block.text)) : null,
        block.fields ? h("div", { class: "fields" }, block.fields.map((f) => h("div", { class: "field" }, textNode(f)))) : null);
      const accessory = block.accessory
        ? h("div", { class: "accessory" }, interactiveElement(block.accessory, id, send)) : null;
      return h("div", { class: "block section" }, body, accessory);
    }
    case "context":
      return h("div", { class: "block context" }, (block.elements || []).map((e) =>
        e.type === "image" ? h("span", { class: "image-alt small" }, `🖼 ${e.alt_text || ""}`) : textNode(e)));
    case "actions":
      return h("div", { class: "block actions" }, (block.elements || []).map((e) => interactiveElement(e, id, send)));
    case "image":
      return h("figure", { class: "block image" },
        block.title ? h("figcaption", {}, plain(block.title)) : null,
        h("div", { class: "image-alt" }, `🖼 ${block.alt_text || "image"}`));
    case "input":
      return renderInput(block, options);
    case "markdown":
      return h("div", { class: "block section", html: mrkdwn(block.text || "") });
    case "rich_text":
      return h("div", { class: "block section" }, richText(block.elements));
    default:
      return h("div", { class: "block unsupported" }, `[${block.type} block is not rendered here]`);
  }
}

function richText(elements) {
  return (elements || []).map((e) => {
    if (e.type === "text") return e.text;
    if (e.type === "link") return h("a", { href: e.url, target: "_blank", rel: "noopener noreferrer" }, e.text || e.url);
    if (e.type === "user") return h("span", { class: "mention" }, `@${userName(e.user_id)}`);
    if (e.type === "emoji") return emojify(`:${e.name}:`);
    return richText(e.elements);
  });
}

// ------------------------------------------------------------------ modal inputs

function stateOf(options, blockId, actionId) {
  const values = (options.values || {})[blockId] || {};
  return values[actionId];
}

let fieldCount = 0;

// Each label names its control (for/id, or aria-labelledby for a group of choices), and the hint
// and the error describe it: screen readers and browser automation find fields by their label.
function renderInput(block, options) {
  const element = block.element || {};
  const state = stateOf(options, block.block_id, element.action_id);
  const error = (options.errors || {})[block.block_id];
  const control = inputControl(element, state, block, options);
  const id = `field-${(fieldCount += 1)}`;
  control.dataset.blockId = block.block_id;
  control.dataset.actionId = element.action_id;
  control.dataset.type = element.type;
  control.classList.add("input-control");
  const isGroup = control.classList.contains("choices");
  control.id = id;
  if (isGroup) control.setAttribute("aria-labelledby", `${id}-label`);
  const described = [block.hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean);
  if (described.length) control.setAttribute("aria-describedby", described.join(" "));
  if (error) control.setAttribute("aria-invalid", "true");
  return h("div", { class: `block input-block${error ? " has-error" : ""}` },
    h(isGroup ? "span" : "label", { class: "input-label", id: `${id}-label`, for: isGroup ? null : id }, plain(block.label),
      block.optional ? h("span", { class: "optional" }, " (optional)") : null),
    control,
    block.hint ? h("div", { class: "hint", id: `${id}-hint` }, plain(block.hint)) : null,
    error ? h("div", { class: "input-error", id: `${id}-error` }, `⚠ ${error}`) : null);
}

function inputControl(element, state, block, options) {
  const type = element.type;
  const value = (key, fallback) => (state && state[key] !== undefined ? state[key] : fallback);
  const placeholder = plain(element.placeholder) || null;
  if (type === "plain_text_input" || type === "email_text_input" || type === "url_text_input") {
    const v = value("value", element.initial_value || "");
    const kind = { email_text_input: "email", url_text_input: "url" }[type] || "text";
    if (element.multiline) return h("textarea", { class: "input", rows: 4, placeholder }, v || "");
    return h("input", { class: "input", type: kind, value: v || "", placeholder, maxlength: element.max_length || null });
  }
  if (type === "number_input") {
    return h("input", {
      class: "input", type: "number", value: value("value", element.initial_value || "") || "", placeholder,
      min: element.min_value || null, max: element.max_value || null, step: element.is_decimal_allowed ? "any" : "1",
    });
  }
  if (type === "datepicker") return h("input", { class: "input", type: "date", value: value("selected_date", element.initial_date || "") || "" });
  if (type === "timepicker") return h("input", { class: "input", type: "time", value: value("selected_time", element.initial_time || "") || "" });
  if (["static_select", "external_select"].includes(type)) {
    const selected = value("selected_option", element.initial_option || null);
    const select = selectFor(element, selected && selected.value, null, false);
    if (block.dispatch_action) select.addEventListener("change", () => options.dispatch(select));
    return select;
  }
  if (type === "multi_static_select") {
    const selected = value("selected_options", element.initial_options || []) || [];
    return selectFor(element, selected.map((o) => o.value), null, true);
  }
  if (type === "users_select") {
    const selected = value("selected_user", element.initial_user || "");
    const select = h("select", { class: "select" }, h("option", { value: "" }, placeholder || "Select a person"),
      ui.snap.users.map((u) => h("option", { value: u.id }, u.name)));
    select.value = selected || "";
    return select;
  }
  if (type === "checkboxes" || type === "radio_buttons") {
    const multiple = type === "checkboxes";
    const selected = multiple
      ? (value("selected_options", element.initial_options || []) || []).map((o) => o.value)
      : [((value("selected_option", element.initial_option || null)) || {}).value];
    const name = `${block.block_id}-${element.action_id}`;
    return h("div", { class: "choices", role: multiple ? "group" : "radiogroup" }, (element.options || []).map((o) =>
      h("label", { class: "choice" },
        h("input", { type: multiple ? "checkbox" : "radio", name, value: o.value, checked: selected.includes(o.value) || null }),
        " ", textNode(o.text))));
  }
  return h("div", { class: "unsupported" }, `[${type} input is not rendered here]`);
}

// Read the modal's inputs back into view.state.values, shaped as Slack sends them.
function collectValues(container, view) {
  const values = {};
  container.querySelectorAll(".input-control").forEach((control) => {
    const { blockId, actionId, type } = control.dataset;
    const element = ((view.blocks || []).find((b) => b.block_id === blockId) || {}).element || {};
    let state;
    if (["static_select", "external_select"].includes(type)) {
      state = { type, selected_option: control.value ? findOption(element, control.value) : null };
    } else if (type === "multi_static_select") {
      state = { type, selected_options: Array.from(control.selectedOptions).map((o) => findOption(element, o.value)) };
    } else if (type === "datepicker") {
      state = { type, selected_date: control.value || null };
    } else if (type === "timepicker") {
      state = { type, selected_time: control.value || null };
    } else if (type === "users_select") {
      state = { type, selected_user: control.value || null };
    } else if (type === "checkboxes") {
      const picked = Array.from(control.querySelectorAll("input:checked")).map((i) => findOption(element, i.value));
      state = { type, selected_options: picked };
    } else if (type === "radio_buttons") {
      const picked = control.querySelector("input:checked");
      state = { type, selected_option: picked ? findOption(element, picked.value) : null };
    } else {
      state = { type, value: control.value === "" ? null : control.value };
    }
    values[blockId] = Object.assign(values[blockId] || {}, { [actionId]: state });
  });
  return values;
}

// ------------------------------------------------------------------ messages

function initials(name) {
  return name.split(/\s+/).map((p) => p[0] || "").join("").slice(0, 2).toUpperCase();
}

function avatarColor(id) {
  let hash = 0;
  for (const c of id) hash = (hash * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${hash}, 45%, 45%)`;
}

function renderMessage(message, conversation) {
  const send = (element, blockId, selection) => post("/sim/action", {
    user: ui.userId, channel: conversation.id, message_ts: message.ts,
    action_id: element.action_id, block_id: blockId, ...selection,
  });
  const isSlackbot = message.user === "USLACKBOT";
  const content = message.blocks && message.blocks.length
    ? renderBlocks(message.blocks, send)
    : h("div", { class: "message-text", html: mrkdwn(message.text || "") });
  const attachments = (message.attachments || []).map((a) => h("div", { class: "attachment", style: `border-color:${a.color || "#ddd"}` },
    a.title ? h("div", { class: "attachment-title" }, a.title) : null,
    h("div", { html: mrkdwn(a.text || a.fallback || "") })));
  const history = message.history || [];
  return h("article", { class: `message${message.ephemeral ? " ephemeral" : ""}`, "data-ts": message.ts },
    h("div", { class: "avatar", style: `background:${isSlackbot ? "#1d9bd1" : avatarColor(message.user)}` },
      isSlackbot ? "S" : initials(message.user_name)),
    h("div", { class: "message-body" },
      h("div", { class: "message-meta" },
        h("span", { class: "author" }, message.user_name),
        message.is_bot && !isSlackbot ? h("span", { class: "badge" }, "APP") : null,
        h("span", { class: "time", title: message.ts }, formatTs(message.ts)),
        message.edited ? h("span", { class: "edited", title: `Updated in place ${history.length} time(s)` }, "(edited)") : null,
        message.thread_ts && message.thread_ts !== message.ts ? h("span", { class: "edited" }, "↳ replied in a thread") : null),
      message.ephemeral ? h("div", { class: "ephemeral-note" }, "👁 Only visible to you") : null,
      content, attachments));
}

function renderConversation(conversation) {
  const list = $("messages");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const switched = list.dataset.conversation !== conversation.id;
  list.replaceChildren(...(conversation.messages.length
    ? conversation.messages.map((m) => renderMessage(m, conversation))
    : [h("div", { class: "empty" }, conversation.kind === "im"
      ? "This is the very beginning of your direct message history with Procure. Try /request figma 2 seats."
      : "No messages yet.")]));
  list.dataset.conversation = conversation.id;
  if (nearBottom || switched) list.scrollTop = list.scrollHeight;
}

function renderHome(home) {
  const section = $("home");
  if (!home) {
    section.replaceChildren(h("div", { class: "empty" }, "Procure has not published a Home tab for you yet."));
    return;
  }
  const send = (element, blockId, selection) => post("/sim/view_action", {
    user: ui.userId, view_id: home.id, action_id: element.action_id, block_id: blockId, ...selection,
  });
  section.replaceChildren(renderBlocks(home.blocks, send, { values: home.state.values, errors: {} }));
}

// ------------------------------------------------------------------ modal

function renderModal(modals) {
  const root = $("modal-root");
  const view = modals[modals.length - 1];
  const key = view ? `${view.id}|${view.hash}|${JSON.stringify(view.errors)}|${view.notice}` : null;
  if (key === ui.modalKey) return;
  const previous = root.querySelector(".modal");
  const keep = view && previous && previous.dataset.viewId === view.id ? collectValues(previous, view) : null;
  ui.modalKey = key;
  if (!view) { root.replaceChildren(); return; }
  const values = Object.assign({}, view.state.values, keep || {});
  const dialog = h("div", { class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": "modal-title", "data-view-id": view.id });
  const sendAction = (element, blockId, selection) => post("/sim/view_action", {
    user: ui.userId, view_id: view.id, action_id: element.action_id, block_id: blockId,
    values: collectValues(dialog, view), ...selection,
  });
  const dispatch = (select) => {
    const element = ((view.blocks || []).find((b) => b.block_id === select.dataset.blockId) || {}).element || {};
    sendAction(element, select.dataset.blockId, { selected_option: findOption(element, select.value) });
  };
  const close = () => post("/sim/close", { user: ui.userId, view_id: view.id });
  const submit = async () => {
    const result = await post("/sim/submit", { user: ui.userId, view_id: view.id, values: collectValues(dialog, view) });
    if (result.outcome === "client_errors") toast("Some required fields are empty or invalid.", true);
  };
  dialog.append(...[
    h("header", { class: "modal-header" },
      h("h2", { id: "modal-title" }, emojify(plain(view.title))),
      modals.length > 1 ? h("span", { class: "stack" }, `${modals.length} views`) : null,
      h("button", { type: "button", class: "icon-button", title: "Close", onclick: close }, "✕")),
    view.notice ? h("div", { class: "modal-notice" }, view.notice) : null,
    h("div", { class: "modal-body" }, renderBlocks(view.blocks, sendAction, { values, errors: view.errors || {}, dispatch })),
    h("footer", { class: "modal-footer" },
      h("button", { type: "button", class: "btn", onclick: close }, plain(view.close) || "Cancel"),
      view.submit ? h("button", { type: "button", class: "btn primary", onclick: submit }, plain(view.submit)) : null),
  ].filter(Boolean));
  root.replaceChildren(h("div", { class: "overlay" }, dialog));
}

// ------------------------------------------------------------------ chrome

function renderProblems(problems) {
  const visible = problems.filter((p) => !ui.dismissed.has(String(p.at))).slice(-5).reverse();
  $("problems").replaceChildren(...visible.map((p) => h("div", { class: "problem" },
    h("button", {
      type: "button", class: "icon-button", title: "Dismiss",
      onclick: () => { ui.dismissed.add(String(p.at)); localStorage.setItem("sim.dismissed", JSON.stringify([...ui.dismissed].slice(-200))); render(true); },
    }, "✕"),
    h("div", { class: "problem-title" }, `${p.source} → ${p.error}`),
    h("ul", {}, (p.details || []).map((d) => h("li", {}, d))))));
}

function renderSidebar(snap) {
  $("workspace-name").textContent = snap.workspace.team_domain;
  $("app-name").textContent = snap.workspace.bot.name;
  $("dm-label").textContent = `Messages (DM with ${snap.workspace.bot.name})`;
  const picker = $("user-picker");
  if (picker.options.length !== snap.users.length) {
    picker.replaceChildren(...snap.users.map((u) => h("option", { value: u.id, title: `${u.id} · ${u.email}` }, u.name)));
  }
  picker.value = ui.userId;
  const channels = snap.channels.filter((c) => c.messages.length);
  $("channel-list").replaceChildren(...(channels.length ? channels.map((c) => h("button", {
    type: "button", class: `nav-item${ui.view.kind === "channel" && ui.view.id === c.id ? " active" : ""}`,
    onclick: () => select({ kind: "channel", id: c.id }),
  }, h("span", { class: "nav-icon" }, "#"), c.name)) : [h("div", { class: "nav-empty" }, "No channel has messages yet")]));
  document.querySelectorAll("nav > .nav-item").forEach((b) => b.classList.toggle("active", b.dataset.kind === ui.view.kind));
  const status = $("schema-status");
  status.textContent = snap.schema.loaded ? "✓ Block Kit schema checks on" : `⚠ ${snap.schema.status}`;
  status.className = `schema-status${snap.schema.loaded ? "" : " warn"}`;
  status.title = snap.schema.status;
  $("activity-list").replaceChildren(...snap.deliveries.slice().reverse().map((d) => h("li", { class: d.status === 200 ? "" : "bad" },
    `${d.kind} → ${d.status === null ? d.error : d.status} · ${d.elapsed_ms} ms`)));
}

function currentConversation(snap) {
  if (ui.view.kind === "channel") return snap.channels.find((c) => c.id === ui.view.id) || snap.dm;
  return snap.dm;
}

function render(force) {
  const snap = ui.snap;
  if (!snap) return;
  renderSidebar(snap);
  renderProblems(snap.problems);
  const isHome = ui.view.kind === "home";
  $("home").hidden = !isHome;
  $("messages").hidden = isHome;
  $("composer").hidden = isHome;
  if (isHome) {
    $("conversation-title").textContent = `${snap.workspace.bot.name} · Home`;
    $("conversation-subtitle").textContent = "";
    const key = snap.home ? `${snap.home.id}|${snap.home.hash}` : "none";
    if (force || key !== ui.renderedKey) renderHome(snap.home);
    ui.renderedKey = key;
  } else {
    const conversation = currentConversation(snap);
    $("conversation-title").textContent = conversation.kind === "im" ? snap.workspace.bot.name : `# ${conversation.name}`;
    $("conversation-subtitle").textContent = conversation.kind === "im" ? "Direct message with the app" : "Public channel";
    renderConversation(conversation);
    ui.renderedKey = null;
  }
  renderModal(snap.modals);
}

async function poll() {
  if (ui.polling || !ui.userId) return;
  ui.polling = true;
  try {
    const response = await fetch(`/sim/state?user=${encodeURIComponent(ui.userId)}`, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const snap = await response.json();
    const changed = snap.version !== ui.version || !ui.snap;
    ui.snap = snap;
    ui.version = snap.version;
    if (changed) render(false);
  } catch (error) {
    toast(`Cannot reach the simulator: ${error.message}`, true);
  } finally {
    ui.polling = false;
  }
}

function select(view) {
  ui.view = view;
  if (view.kind === "home") post("/sim/home", { user: ui.userId }); // Slack sends app_home_opened on every visit
  render(true);
}

// Who the page opens as: `?user=`, else the person last chosen in the picker, else the one the
// simulator names (the demo's first requester), else the first person in the workspace.
function firstUser(users, preferred) {
  const wanted = new URLSearchParams(location.search).get("user") || localStorage.getItem("sim.user");
  const person = (id) => users.find((u) => u.id === id && !u.is_bot);
  return (person(wanted) || person(preferred) || users.find((u) => !u.is_bot) || users[0] || {}).id;
}

async function start() {
  const [listing] = await Promise.all([fetch("/sim/users").then((r) => r.json()), loadEmoji()]);
  ui.userId = firstUser(listing.users, listing.default_user);
  $("user-picker").addEventListener("change", (event) => {
    ui.userId = event.target.value;
    localStorage.setItem("sim.user", ui.userId);
    ui.snap = null;
    ui.modalKey = null;
    ui.view = { kind: "dm", id: null };
    poll();
  });
  document.querySelectorAll("nav > .nav-item").forEach((b) => b.addEventListener("click", () => select({ kind: b.dataset.kind, id: null })));
  const input = $("composer-input");
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const conversation = ui.snap && currentConversation(ui.snap);
    const channel = conversation && conversation.kind === "channel" ? conversation.id : undefined;
    if (text.startsWith("/")) post("/sim/command", { user: ui.userId, text, channel: conversation && conversation.id });
    else post("/sim/message", { user: ui.userId, text, channel });
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("composer").requestSubmit(); }
  });
  await poll();
  if (new URLSearchParams(location.search).get("view") === "home") select({ kind: "home", id: null });
  setInterval(poll, POLL_MS);
}

start();
