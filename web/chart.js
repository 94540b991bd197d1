// chart.js — deliveries per hour by outcome, drawn as stacked bars in inline
// SVG (no chart library). The SVG is an image with a title and description;
// the same numbers are written out as a sentence for those who cannot see
// it, and each bar carries a tooltip with its hour's counts.

import {h, s, uid} from './dom.js';

const W = 720;
const H = 200;
const PAD = {left: 40, right: 8, top: 12, bottom: 26};
const SERIES = [
  ['succeeded', 'succeeded'],
  ['failed', 'failed'],
  ['retried', 'retried'],
];

const HOUR = new Intl.DateTimeFormat(undefined, {hour: '2-digit', minute: '2-digit'});

// The top of the scale: the smallest of 2, 4, 6, 8, 10 × 10^k at or above n,
// even so that the middle tick is a whole count too.
function niceMax(n) {
  if (n <= 2) return 2;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [2, 4, 6, 8, 10]) {
    if (m * p >= n) return m * p;
  }
  return 10 * p;
}

function total(b) {
  return (b.succeeded || 0) + (b.failed || 0) + (b.retried || 0);
}

function plural(n, word) {
  return `${n.toLocaleString()} ${word}`;
}

// Sentence form of the buckets, e.g. "In the last 24 hours: 10 succeeded,
// 2 failed, 3 retried. Busiest hour: 14:00, with 6."
export function summarize(buckets) {
  const sum = {succeeded: 0, failed: 0, retried: 0};
  let busiest = null;
  for (const b of buckets) {
    for (const [k] of SERIES) sum[k] += b[k] || 0;
    if (total(b) > 0 && (!busiest || total(b) > total(busiest))) busiest = b;
  }
  const head = `In the last ${buckets.length} hours: ${plural(sum.succeeded, 'succeeded')}, ` +
    `${plural(sum.failed, 'failed')}, ${plural(sum.retried, 'retried')}.`;
  if (!busiest) return `${head} Nothing was delivered.`;
  return `${head} Busiest hour: ${HOUR.format(new Date(busiest.hour))}, with ${total(busiest)}.`;
}

// buckets: [{hour, succeeded, failed, retried}], oldest first.
export function hourlyChart(buckets) {
  const n = Math.max(buckets.length, 1);
  const max = niceMax(Math.max(0, ...buckets.map(total)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / n;
  const barW = Math.max(2, slot * 0.72);
  const y = (v) => PAD.top + plotH - (v / max) * plotH;
  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const summary = summarize(buckets);

  const svg = s('svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-labelledby': `${titleId} ${descId}`, preserveAspectRatio: 'xMidYMid meet'},
  s('title', {id: titleId, text: 'Deliveries per hour, last 24 hours'}),
  s('desc', {id: descId, text: summary}));

  for (const v of [0, max / 2, max]) {
    const yy = y(v);
    svg.append(s('line', {class: v === 0 ? 'axis' : 'grid', x1: PAD.left, x2: W - PAD.right,
      y1: yy, y2: yy}));
    svg.append(s('text', {x: PAD.left - 6, y: yy + 4, 'text-anchor': 'end', text: v}));
  }

  buckets.forEach((b, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    const g = s('g', {class: 'bar'});
    const when = HOUR.format(new Date(b.hour));
    g.append(s('title', {text: `${when}: ${b.succeeded || 0} succeeded, ${b.failed || 0} failed, ` +
      `${b.retried || 0} retried`}));
    let base = 0;
    for (const [key] of SERIES) {
      const v = b[key] || 0;
      if (!v) continue;
      const top = y(base + v);
      g.append(s('rect', {class: `bar-${key}`, x: x.toFixed(1), y: top.toFixed(1),
        width: barW.toFixed(1), height: Math.max(1, y(base) - top).toFixed(1), rx: 1.5,
        'data-series': key}));
      base += v;
    }
    // An invisible full-height target so the tooltip shows on empty hours too.
    g.append(s('rect', {x: (PAD.left + i * slot).toFixed(1), y: PAD.top, width: slot.toFixed(1),
      height: plotH, fill: 'transparent'}));
    svg.append(g);
    // Every sixth hour is labelled; the edge labels are anchored inward so
    // they are not cut by the frame.
    const first = i === 0;
    const lastOne = i === buckets.length - 1;
    if (i % 6 === 0 || lastOne) {
      svg.append(s('text', {x: (first ? PAD.left : lastOne ? W - PAD.right : x + barW / 2).toFixed(1),
        y: H - 8, 'text-anchor': first ? 'start' : lastOne ? 'end' : 'middle', text: when}));
    }
  });

  return h('figure', {class: 'chart-wrap'},
    svg,
    h('div', {class: 'legend', 'aria-hidden': 'true'},
      SERIES.map(([key, label]) => h('span', {}, h('i', {class: key}), label))),
    h('figcaption', {class: 'chart-summary', text: summary}));
}
