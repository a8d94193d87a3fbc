/**
 * The dashboard's HTML, rendered on the server with the numbers of the moment (the page is
 * useful before any script runs), then kept live by web/dashboard.js over SSE. Everything from
 * data is escaped here and set with textContent in the script: no lead field becomes markup.
 */
import type { Topology } from '../topology.js';
import { renderDiagram } from './diagram.js';
import type { Snapshot } from './live-view.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (n: number | null | undefined, digits = 0) => (n === null || n === undefined ? '–' : n.toFixed(digits));
const ms = (n: number | null) => (n === null ? '–' : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/dashboard/static/dashboard.css"></head>
<body>${body}<script src="/dashboard/static/dashboard.js" defer></script></body></html>`;
}

export function loginPage(): string {
  return layout(
    'lead-router · sign in',
    `<main class="login"><h1>lead-router operations</h1>
<form id="login-form" data-page="login"><label for="token">Operator token</label>
<input id="token" name="token" type="password" autocomplete="current-password" placeholder="lro_…" required>
<button type="submit">Sign in</button><p id="login-error" class="error" role="alert"></p></form>
<p class="hint">The token is checked on every request and kept in an HttpOnly cookie for this path only.</p></main>`,
  );
}

function stageRows(s: Snapshot): string {
  return s.stages
    .map(
      (st) => `<tr data-stage-row="${esc(st.stage)}" class="${st.members === 0 ? 'down' : ''}"><td>${esc(st.stage)}</td><td>${esc(st.role)}</td><td data-f="state">${esc(st.state)}</td>` +
        `<td data-f="members">${st.members}</td><td data-f="rate">${num(st.perSecond, 1)}</td><td data-f="lag">${st.lag}</td><td data-f="oldest">${num(st.oldestWaitingS)}</td></tr>`,
    )
    .join('');
}

function destinationRows(s: Snapshot): string {
  return s.destinations
    .map(
      (d) => `<tr data-destination-row="${esc(d.destination)}"><td>${esc(d.destination)}</td><td data-f="delivered">${d.perMinute.delivered}</td><td data-f="retry">${d.perMinute.retry}</td>` +
        `<td data-f="dead">${d.perMinute.dead}</td><td data-f="counts">${d.counts.delivered} / ${d.counts.retry} / ${d.counts.dead}</td><td data-f="p50">${ms(d.p50Ms)}</td><td data-f="p99">${ms(d.p99Ms)}</td>` +
        `<td data-f="circuit" class="circuit-${esc(d.circuit ?? 'na')}">${esc(d.circuit ?? '')}</td></tr>`,
    )
    .join('');
}

export function dashboardPage(opts: { topology: Topology; prefix: string; snapshot: Snapshot; operator: string; destinations: string[] }): string {
  const s = opts.snapshot;
  const options = ['<option value="">any destination</option>', ...opts.destinations.map((d) => `<option value="${esc(d)}">${esc(d)}</option>`)].join('');
  return layout(
    'lead-router · operations',
    `<header><h1>lead-router operations</h1><span id="conn" class="badge">connecting…</span><span id="kafka" class="badge">${s.kafka.ok ? 'Kafka ok' : `Kafka: ${esc(s.kafka.error)}`}</span>
<span id="updated" class="muted">updated ${esc(new Date(s.at).toISOString())}</span><span class="spacer"></span><span class="muted">operator ${esc(opts.operator)}</span><button id="logout" type="button">Sign out</button></header>
<div id="down-banner" role="alert"></div>
<main data-page="dashboard" data-prefix="${esc(opts.prefix)}">
<section id="pipeline"><h2>Pipeline</h2><p class="muted">Topics: records written per second. Stages: records consumed per second, lag (records waiting), members of the consumer group. Red: nobody runs it.</p>
${renderDiagram(opts.topology, opts.prefix)}</section>
<section id="stages"><h2>Stages</h2><table><thead><tr><th>stage</th><th>role</th><th>group state</th><th>members</th><th>records/s</th><th>lag</th><th>oldest waiting (s)</th></tr></thead>
<tbody id="stage-rows">${stageRows(s)}</tbody></table>
<h3>Roles</h3><ul id="roles" class="chips">${s.roles.map((r) => `<li class="role-${esc(r.state)}" data-role="${esc(r.role)}">${esc(r.role)}: ${esc(r.state)}</li>`).join('')}</ul>
<h3>Role processes (admin ports)</h3><table><thead><tr><th>name</th><th>admin URL</th><th>state</th><th>roles</th><th>problems</th></tr></thead><tbody id="target-rows"></tbody></table></section>
<section id="destinations"><h2>Destinations</h2><p class="muted">Per minute over the last minute; counts over 5 minutes (delivered / retry / dead); latency from the lead's arrival to its delivery.</p>
<table><thead><tr><th>destination</th><th>delivered/min</th><th>retry/min</th><th>dead/min</th><th>5 min</th><th>p50</th><th>p99</th><th>SMS circuit</th></tr></thead>
<tbody id="destination-rows">${destinationRows(s)}</tbody></table></section>
<section id="recent"><h2>Recent leads</h2><div class="scroll"><table><thead><tr><th>received</th><th>lead</th><th>vendor</th><th>source</th><th>country</th><th>latest</th><th>delivered to</th></tr></thead><tbody id="recent-rows"></tbody></table></div></section>
<section id="search"><h2>Find a lead</h2><form id="search-form" class="row"><input id="search-q" placeholder="leadId, phone or vendorLeadId" required><button type="submit" id="search-go">Find</button></form>
<p id="search-note" class="muted"></p><ul id="search-results" class="links"></ul>
<div id="timeline-box" hidden><h3 id="timeline-title"></h3><table><thead><tr><th>at (ISO)</th><th>gap</th><th>event</th><th>stage</th><th>destination</th><th>attempt</th><th>detail</th></tr></thead><tbody id="timeline"></tbody></table></div></section>
<section id="dlq"><h2>Dead letters</h2><form id="dlq-form" class="row"><select id="dlq-destination">${options}</select><input id="dlq-reason" placeholder="reason contains"><label>since <input id="dlq-since" type="datetime-local"></label><label>until <input id="dlq-until" type="datetime-local"></label><button type="submit" id="dlq-go">Filter</button><button type="button" id="dlq-replay-all">Replay all matching</button></form>
<p id="dlq-summary" class="muted"></p><div class="scroll"><table><thead><tr><th>died</th><th>lead</th><th>destination</th><th>stage</th><th>attempt</th><th>reason</th><th></th></tr></thead><tbody id="dlq-rows"></tbody></table></div>
<div id="edit-box" hidden><h3 id="edit-title"></h3><p class="muted">Edit the lead's fields (JSON); only the fields you change are sent. Identity (leadId, vendor) and delivery cannot change.</p><textarea id="edit-json" rows="12" spellcheck="false"></textarea><div class="row"><button type="button" id="edit-replay">Replay with this edit</button><button type="button" id="edit-cancel">Cancel</button></div></div>
<p id="dlq-result" role="status"></p></section>
<section id="optouts"><h2>Opt-outs</h2><form id="optout-form" class="row"><input id="optout-phone" placeholder="phone (+14155550132)" required><button type="submit" id="optout-lookup">Look up</button><button type="button" id="optout-set">Opt out</button><button type="button" id="optout-clear">Opt back in</button></form><p id="optout-result" role="status"></p></section>
</main>`,
  );
}
