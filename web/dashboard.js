// lead-router operations dashboard: the page's only script, no framework. Live numbers arrive as
// SSE snapshots (/dashboard/events); searches, the DLQ browser and opt-outs call /dashboard/api/*.
// Every value from data is set with textContent, never as markup.
// @ts-check
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
};
const row = (cells) => {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.appendChild(c);
    else td.textContent = c === null || c === undefined ? '' : String(c);
    tr.appendChild(td);
  }
  return tr;
};
const rate = (n) => (n === null || n === undefined ? '–' : n < 10 ? n.toFixed(1) : Math.round(n).toString());
const ms = (n) => (n === null || n === undefined ? '–' : n >= 10000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);
const gap = (n) => (n === null || n === undefined ? '' : n >= 1000 ? `+${(n / 1000).toFixed(3)} s` : `+${n} ms`);

async function api(path, opts = {}) {
  const res = await fetch(path, { ...opts, headers: { 'content-type': 'application/json', 'x-dashboard': '1', ...(opts.headers || {}) } });
  if (res.status === 401) {
    location.href = '/dashboard/login';
    throw new Error('signed out');
  }
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error((body && body.message) || `HTTP ${res.status}`);
  return body;
}

function loginPage() {
  const form = /** @type {HTMLFormElement} */ ($('#login-form'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = /** @type {HTMLInputElement} */ ($('#token')).value.trim();
    const res = await fetch('/dashboard/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    if (res.status === 204) location.href = '/dashboard';
    else $('#login-error').textContent = res.status === 403 ? 'That token is not an operator token.' : `Sign-in failed (HTTP ${res.status}).`;
  });
}

function renderSnapshot(s) {
  $('#updated').textContent = `updated ${new Date(s.at).toISOString()}`;
  const kafka = $('#kafka');
  kafka.textContent = s.kafka.ok ? 'Kafka ok' : `Kafka: ${s.kafka.error}`;
  kafka.className = `badge ${s.kafka.ok ? 'ok' : 'bad'}`;
  const prefix = $('main').dataset.prefix || '';
  const topic = (name) => s.topics[name] || { perSecond: null, end: 0 };
  for (const [name, t] of Object.entries(s.topics)) {
    const g = document.querySelector(`[data-topic="${CSS.escape(name)}"] [data-f="rate"]`);
    if (g) g.textContent = `${rate(t.perSecond)} /s · ${t.end} total`;
  }
  const ingest = document.querySelector('[data-stage="ingest"]');
  if (ingest) {
    ingest.querySelector('[data-f="rate"]').textContent = `${rate(topic(`${prefix}leads.raw`).perSecond)} leads/s accepted`;
    ingest.querySelector('[data-f="members"]').textContent = 'this process · up';
  }
  const banner = $('#down-banner');
  banner.replaceChildren();
  for (const st of s.stages) {
    const g = document.querySelector(`[data-stage="${CSS.escape(st.stage)}"]`);
    if (g) {
      g.classList.toggle('down', st.members === 0);
      g.classList.toggle('lagging', st.members > 0 && st.oldestWaitingS >= 30);
      g.querySelector('[data-f="rate"]').textContent = `${rate(st.perSecond)} /s · lag ${st.lag}`;
      g.querySelector('[data-f="members"]').textContent = st.members === 0 ? 'DOWN · no member' : `${st.members} member${st.members === 1 ? '' : 's'} · oldest ${Math.round(st.oldestWaitingS)} s`;
    }
    const tr = document.querySelector(`[data-stage-row="${CSS.escape(st.stage)}"]`);
    if (tr) {
      tr.classList.toggle('down', st.members === 0);
      tr.querySelector('[data-f="state"]').textContent = st.state;
      tr.querySelector('[data-f="members"]').textContent = String(st.members);
      tr.querySelector('[data-f="rate"]').textContent = rate(st.perSecond);
      tr.querySelector('[data-f="lag"]').textContent = String(st.lag);
      tr.querySelector('[data-f="oldest"]').textContent = String(Math.round(st.oldestWaitingS));
    }
    if (st.members === 0) banner.appendChild(el('p', `${st.stage} is DOWN: consumer group ${st.group} has no member; ${st.lag} record(s) waiting.`, 'down'));
  }
  const roles = $('#roles');
  roles.replaceChildren(...s.roles.map((r) => {
    const li = el('li', `${r.role}: ${r.state}`, `role-${r.state}`);
    li.dataset.role = r.role;
    return li;
  }));
  $('#target-rows').replaceChildren(...s.targets.map((t) => {
    const tr = row([t.name, t.url, !t.reachable ? 'unreachable' : t.ready ? 'ready' : 'NOT READY', (t.roles || []).join(', '), (t.problems || []).slice(0, 3).join('; ')]);
    tr.className = t.ready ? '' : 'down';
    return tr;
  }));
  const body = $('#destination-rows');
  for (const d of s.destinations) {
    let tr = document.querySelector(`[data-destination-row="${CSS.escape(d.destination)}"]`);
    if (!tr) {
      tr = row([d.destination, '', '', '', '', '', '', '']);
      tr.dataset.destinationRow = d.destination;
      ['delivered', 'retry', 'dead', 'counts', 'p50', 'p99', 'circuit'].forEach((f, i) => (tr.children[i + 1].dataset.f = f));
      body.appendChild(tr);
    }
    const set = (f, v) => (tr.querySelector(`[data-f="${f}"]`).textContent = String(v));
    set('delivered', d.perMinute.delivered);
    set('retry', d.perMinute.retry);
    set('dead', d.perMinute.dead);
    set('counts', `${d.counts.delivered} / ${d.counts.retry} / ${d.counts.dead}`);
    set('p50', ms(d.p50Ms));
    set('p99', ms(d.p99Ms));
    set('circuit', d.circuit || '');
    tr.querySelector('[data-f="circuit"]').className = `circuit-${d.circuit || 'na'}`;
  }
  $('#recent-rows').replaceChildren(...s.recent.map((l) => row([new Date(l.receivedAt).toISOString(), leadLink(l.leadId), l.vendor, l.source, l.country, l.last, l.delivered.join(', ')])));
}

function leadLink(leadId) {
  const a = el('a', leadId);
  a.href = `#lead-${leadId}`;
  a.addEventListener('click', (ev) => {
    ev.preventDefault();
    void showTimeline(leadId);
  });
  return a;
}

async function showTimeline(leadId) {
  const box = $('#timeline-box');
  box.hidden = false;
  $('#timeline-title').textContent = `Lead ${leadId}`;
  const body = $('#timeline');
  body.replaceChildren(row(['loading…']));
  try {
    const h = await api(`/dashboard/api/leads/${encodeURIComponent(leadId)}`);
    $('#timeline-title').textContent = `Lead ${leadId} · received ${h.receivedAt || '?'} · vendor ${h.vendor || '?'} · source ${h.source || '?'}${h.vendorLeadId ? ` · vendorLeadId ${h.vendorLeadId}` : ''}`;
    body.replaceChildren(...h.events.map((e) => {
      const tr = row([e.at, gap(e.gapMs), e.type, e.stage, e.destination || '', e.attempt ?? '', e.detail || '']);
      tr.className = `event-${e.type}`;
      return tr;
    }));
  } catch (err) {
    body.replaceChildren(row([`no timeline: ${err.message}`]));
  }
}

async function search(ev) {
  ev.preventDefault();
  const q = /** @type {HTMLInputElement} */ ($('#search-q')).value.trim();
  const list = $('#search-results');
  list.replaceChildren();
  $('#search-note').textContent = 'searching…';
  try {
    const r = await api(`/dashboard/api/search?q=${encodeURIComponent(q)}`);
    $('#search-note').textContent = `${r.leads.length} lead(s) by ${r.by}${r.note ? ` · ${r.note}` : ''}`;
    for (const l of r.leads) {
      const li = el('li');
      li.append(leadLink(l.leadId), el('span', l.receivedAt ? ` received ${l.receivedAt}` : '', 'muted'));
      list.appendChild(li);
    }
    if (r.leads.length >= 1) await showTimeline(r.leads[0].leadId);
  } catch (err) {
    $('#search-note').textContent = `search failed: ${err.message}`;
  }
}

const iso = (v) => (v ? new Date(v).toISOString() : undefined);
function dlqFilter() {
  const v = (id) => /** @type {HTMLInputElement} */ ($(id)).value.trim();
  return { destination: v('#dlq-destination') || undefined, reason: v('#dlq-reason') || undefined, since: iso(v('#dlq-since')), until: iso(v('#dlq-until')) };
}

async function loadDlq() {
  const f = dlqFilter();
  const qs = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== undefined));
  const r = await api(`/dashboard/api/dlq?${qs}`);
  $('#dlq-summary').textContent = `${r.total} dead letter(s) match${r.complete ? '' : ' (still reading leads.dlq: more may come)'}`;
  $('#dlq-rows').replaceChildren(...r.items.map((d) => {
    const replay = el('button', 'Replay');
    replay.type = 'button';
    replay.className = 'replay-one';
    replay.addEventListener('click', () => void replayLeads({ leadIds: [d.leadId], destination: d.destination || undefined }));
    const edit = el('button', 'Edit & replay');
    edit.type = 'button';
    edit.addEventListener('click', () => void openEdit(d));
    const actions = el('span');
    actions.append(replay, edit);
    const tr = row([d.deadAt, leadLink(d.leadId), d.destination || `(died in ${d.stage})`, d.stage, d.attempt ?? '', d.reason, actions]);
    tr.dataset.leadId = d.leadId;
    return tr;
  }));
}

async function replayLeads(filter, edit) {
  const out = $('#dlq-result');
  out.textContent = 'replaying…';
  try {
    const r = await api('/dashboard/api/dlq/replay', { method: 'POST', body: JSON.stringify({ filter, ...(edit ? { edit } : {}) }) });
    const why = Object.entries(r.reasons).map(([k, n]) => `${n} ${k}`).join(', ');
    out.textContent = `replayed ${r.replayed}, skipped ${r.skipped}, failed ${r.failed}${why ? ` (${why})` : ''}`;
    setTimeout(() => void loadDlq(), 1500);
  } catch (err) {
    out.textContent = `replay failed: ${err.message}`;
  }
}

let editing = null;
async function openEdit(d) {
  const lead = await api(`/dashboard/api/dlq/lead?${new URLSearchParams({ leadId: d.leadId, ...(d.destination ? { destination: d.destination } : {}) })}`);
  editing = { dead: d, original: lead };
  $('#edit-title').textContent = `Edit lead ${d.leadId} before replaying it to ${d.destination || d.originalTopic}`;
  /** @type {HTMLTextAreaElement} */ ($('#edit-json')).value = JSON.stringify(lead, null, 2);
  $('#edit-box').hidden = false;
}

async function replayEdited() {
  if (!editing) return;
  let changed;
  try {
    changed = JSON.parse(/** @type {HTMLTextAreaElement} */ ($('#edit-json')).value);
  } catch (err) {
    $('#dlq-result').textContent = `not JSON: ${err.message}`;
    return;
  }
  const edit = Object.fromEntries(Object.entries(changed).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(editing.original[k])));
  const { dead } = editing;
  $('#edit-box').hidden = true;
  editing = null;
  await replayLeads({ leadIds: [dead.leadId], destination: dead.destination || undefined }, Object.keys(edit).length ? edit : undefined);
}

let confirmAll = null;
async function replayAll() {
  const button = $('#dlq-replay-all');
  const filter = dlqFilter();
  if (confirmAll && JSON.stringify(confirmAll) === JSON.stringify(filter)) {
    confirmAll = null;
    button.textContent = 'Replay all matching';
    await replayLeads(filter);
    return;
  }
  // First click: a dry run says what would happen; the second click does it.
  const r = await api('/dashboard/api/dlq/replay', { method: 'POST', body: JSON.stringify({ filter, dryRun: true }) });
  confirmAll = filter;
  button.textContent = `Confirm: replay ${r.replayed} lead(s)`;
  $('#dlq-result').textContent = `${r.replayed} would be replayed, ${r.skipped} skipped (${Object.entries(r.reasons).map(([k, n]) => `${n} ${k}`).join(', ') || 'none'})`;
}

async function optOut(optedOut) {
  const phone = /** @type {HTMLInputElement} */ ($('#optout-phone')).value.trim();
  const out = $('#optout-result');
  try {
    const r = optedOut === null
      ? await api(`/dashboard/api/optouts?phone=${encodeURIComponent(phone)}`)
      : await api('/dashboard/api/optouts', { method: 'POST', body: JSON.stringify({ phone, optedOut }) });
    out.textContent = `${r.phone}: ${r.optedOut ? 'OPTED OUT (never texted)' : 'not opted out'}${r.applied === false ? ' (written; not yet applied here)' : ''}`;
  } catch (err) {
    out.textContent = `failed: ${err.message}`;
  }
}

function dashboardPage() {
  const conn = $('#conn');
  const source = new EventSource('/dashboard/events');
  source.addEventListener('snapshot', (ev) => {
    conn.textContent = 'live';
    conn.className = 'badge ok';
    renderSnapshot(JSON.parse(/** @type {MessageEvent} */ (ev).data));
  });
  source.addEventListener('error', () => {
    conn.textContent = 'reconnecting…';
    conn.className = 'badge bad';
    fetch('/dashboard/api/snapshot').then((r) => r.status === 401 && (location.href = '/dashboard/login'), () => undefined);
  });
  $('#search-form').addEventListener('submit', (ev) => void search(ev));
  $('#dlq-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    confirmAll = null;
    $('#dlq-replay-all').textContent = 'Replay all matching';
    void loadDlq().catch((err) => ($('#dlq-summary').textContent = `failed: ${err.message}`));
  });
  $('#dlq-replay-all').addEventListener('click', () => void replayAll().catch((err) => ($('#dlq-result').textContent = `failed: ${err.message}`)));
  $('#edit-replay').addEventListener('click', () => void replayEdited());
  $('#edit-cancel').addEventListener('click', () => (($('#edit-box').hidden = true), (editing = null)));
  $('#optout-form').addEventListener('submit', (ev) => (ev.preventDefault(), void optOut(null)));
  $('#optout-set').addEventListener('click', () => void optOut(true));
  $('#optout-clear').addEventListener('click', () => void optOut(false));
  $('#logout').addEventListener('click', () => void fetch('/dashboard/logout', { method: 'POST' }).then(() => (location.href = '/dashboard/login')));
  void loadDlq().catch(() => undefined);
}

if ($('[data-page="login"]')) loginPage();
else if ($('[data-page="dashboard"]')) dashboardPage();
