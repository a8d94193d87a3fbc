/**
 * The pipeline diagram, drawn on the server from the topology (so it is the real one, whatever
 * the config adds) as inline SVG: the main path left to right (ingest → leads.raw → enrich →
 * leads.enriched → route → one row per destination topic and its sink), then the side paths
 * (backup, quiet hours, history, anything else) and the dead-letter topics. Every number is an
 * element with data-* attributes that the page's script fills from the live snapshot.
 */
import type { StageSpec, Topology } from '../topology.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STAGE_W = 150;
const STAGE_H = 58;
const TOPIC_W = 150;
const TOPIC_H = 40;
const ROW = 72;

interface Placed {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function renderDiagram(topology: Topology, prefix = ''): string {
  const { topics, stages } = topology;
  const short = (t: string) => (prefix && t.startsWith(prefix) ? t.slice(prefix.length) : t);
  const parts: string[] = [];
  const edges: string[] = [];
  const at = new Map<string, Placed>();

  const stageBox = (s: StageSpec | { name: string; kind: string }, x: number, y: number) => {
    at.set(`s:${s.name}`, { x, y, w: STAGE_W, h: STAGE_H });
    parts.push(
      `<g class="stage" data-stage="${esc(s.name)}" transform="translate(${x},${y})"><rect width="${STAGE_W}" height="${STAGE_H}" rx="6"/>` +
        `<text x="8" y="17" class="name">${esc(s.name)}</text>` +
        `<text x="8" y="34" data-f="rate">– /s · lag –</text>` +
        `<text x="8" y="50" data-f="members">– members</text></g>`,
    );
  };
  const topicBox = (t: string, x: number, y: number) => {
    at.set(`t:${t}`, { x, y, w: TOPIC_W, h: TOPIC_H });
    parts.push(
      `<g class="topic" data-topic="${esc(t)}" transform="translate(${x},${y})"><rect width="${TOPIC_W}" height="${TOPIC_H}" rx="18"/>` +
        `<text x="12" y="16" class="name">${esc(short(t))}</text><text x="12" y="32" data-f="rate">– /s</text></g>`,
    );
  };
  const edge = (from: string, to: string, dashed = false) => {
    const a = at.get(from);
    const b = at.get(to);
    if (!a || !b) return;
    const [x1, y1] = b.x > a.x + a.w - 1 ? [a.x + a.w, a.y + a.h / 2] : [a.x + a.w / 2, a.y + a.h];
    const [x2, y2] = b.x > a.x + a.w - 1 ? [b.x, b.y + b.h / 2] : [b.x + b.w / 2, b.y];
    edges.push(`<path class="edge${dashed ? ' dashed' : ''}" d="M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>`);
  };

  // Destination rows: every topic route writes that is neither bookkeeping nor a dead end for people.
  const route = stages.find((s) => s.kind === 'route');
  const side = new Set([topics.events, topics.poison, topics.dlq, topics.backup]);
  const destTopics = (route?.outputs ?? []).filter((t) => !side.has(t));
  const rows = Math.max(destTopics.length, 1);
  const mid = 10 + ((rows - 1) * ROW) / 2;
  const ingest = stages.find((s) => s.kind === 'ingest');
  const enrich = stages.find((s) => s.kind === 'enrich');
  if (ingest) stageBox(ingest, 10, mid - 9);
  topicBox(topics.raw, 185, mid);
  if (enrich) stageBox(enrich, 360, mid - 9);
  topicBox(topics.enriched, 535, mid);
  if (route) stageBox(route, 710, mid - 9);
  if (ingest) edge(`s:${ingest.name}`, `t:${topics.raw}`);
  if (enrich) edge(`t:${topics.raw}`, `s:${enrich.name}`), edge(`s:${enrich.name}`, `t:${topics.enriched}`);
  if (route) edge(`t:${topics.enriched}`, `s:${route.name}`);
  const placed = new Set([ingest?.name, enrich?.name, route?.name]);
  destTopics.forEach((t, i) => {
    const y = 10 + i * ROW;
    topicBox(t, 900, y + 9);
    if (route) edge(`s:${route.name}`, `t:${t}`);
    for (const s of stages.filter((x) => x.inputs.includes(t) && !placed.has(x.name))) {
      stageBox(s, 1080, y);
      placed.add(s.name);
      edge(`t:${t}`, `s:${s.name}`);
    }
  });

  // Side paths: input topic → stage, three to a row.
  let y = 10 + rows * ROW + 20;
  const rest = stages.filter((s) => !placed.has(s.name) && s.group);
  rest.forEach((s, i) => {
    const col = i % 3;
    if (col === 0 && i > 0) y += ROW;
    const x = 10 + col * 410;
    const input = s.inputs[0];
    if (input) {
      topicBox(input, x, y + 9);
      stageBox(s, x + 190, y);
      edge(`t:${input}`, `s:${s.name}`);
    } else stageBox(s, x, y);
  });
  y += ROW + 10;
  [topics.dlq, topics.poison].forEach((t, i) => topicBox(t, 10 + i * 190, y));
  parts.push(`<text x="${10 + 2 * 190}" y="${y + 25}" class="note">dead letters: see the DLQ browser below</text>`);
  const height = y + TOPIC_H + 12;
  return (
    `<svg class="diagram" viewBox="0 0 1240 ${height}" role="img" aria-label="pipeline: topics and stages">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>` +
    edges.join('') +
    parts.join('') +
    '</svg>'
  );
}
