// peer.mjs — the BullMQ peer of bench/run_core.sh (see bench/README.md): the
// same deliveries hookd makes, done the way a Node service commonly does
// them: producers add jobs to a BullMQ queue in Redis, a worker (concurrency
// 64) signs each payload and POSTs it over an undici keep-alive pool.
//
//   node peer.mjs run --redis-port P --redis-pid PID --url URL --shards PREFIX
//                     --producers 4 --n N [--concurrency 64] [--batch 1000]
//                     [--timeout 180] [--clk-tck 100]
//
// `run` forks one worker process and one process per producer (each reads
// its shard PREFIX.<i> of JSON lines, written by core_client activities), so
// the worker's CPU can be told apart from the producers'. Timing: from the
// first addBulk of any producer to the worker's N-th "completed" event, on
// CLOCK_MONOTONIC (process.hrtime) like every other phase. Prints progress on
// stderr and one line `RESULT {json}` on stdout. URLs must be on loopback.
import { fork } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const QUEUE = 'hookd-peer';
const WEBHOOK_ID = '0190f3a2-8b4c-7d1e-9f00-00000000beef';
const SELF = fileURLToPath(import.meta.url);
const nowNs = () => process.hrtime.bigint(); // CLOCK_MONOTONIC on Linux
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function options() {
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      'redis-port': { type: 'string' },
      'redis-pid': { type: 'string', default: '0' },
      url: { type: 'string' },
      shards: { type: 'string' },
      producers: { type: 'string', default: '4' },
      index: { type: 'string', default: '0' },
      n: { type: 'string' },
      concurrency: { type: 'string', default: '64' },
      batch: { type: 'string', default: '1000' },
      timeout: { type: 'string', default: '180' },
      'clk-tck': { type: 'string', default: '100' },
    },
  });
  const o = {
    redisPort: Number(values['redis-port']),
    redisPid: Number(values['redis-pid']),
    url: values.url,
    shards: values.shards,
    producers: Number(values.producers),
    index: Number(values.index),
    n: Number(values.n),
    concurrency: Number(values.concurrency),
    batch: Number(values.batch),
    timeout: Number(values.timeout),
    clkTck: Number(values['clk-tck']),
  };
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(o.url || '') || !(o.redisPort > 0) || !(o.n > 0)) {
    console.error('peer.mjs: needs --url http://127.0.0.1:PORT/…, --redis-port and --n');
    process.exit(2);
  }
  return o;
}

const connection = (o) => ({ host: '127.0.0.1', port: o.redisPort, maxRetriesPerRequest: null });

// ---- worker ---------------------------------------------------------------

// The payload hookd builds for an activity (docs/payload.md), signed the Standard
// Webhooks way: v1,base64(HMAC-SHA256(secret, id.timestamp.body)).
function request(job, secret, path) {
  const a = job.data;
  const id = `0190f3a2-8b4c-7d1e-9f01-${String(job.id).slice(-12).padStart(12, '0')}`;
  const body = JSON.stringify({
    activity: { id: a.id, field_id: a.field_id, created: '2024-03-18T09:30:00Z',
      attr: { ...a.attr, 'bol::t': true } },
    contact: { contact_id: a.contact.contact_id, email: 'person@example.com' },
    id, time: new Date().toISOString(), webhook_id: WEBHOOK_ID,
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', secret).update(`${id}.${ts}.${body}`).digest('base64');
  return {
    path, method: 'POST', body,
    headers: {
      'content-type': 'application/json', 'user-agent': 'hookd-peer/1',
      'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}`,
    },
  };
}

async function worker(o) {
  const { Worker } = await import('bullmq');
  const { Pool } = await import('undici');
  const url = new URL(o.url);
  // One keep-alive connection per job in flight, as hookd keeps its own.
  const pool = new Pool(url.origin, { connections: o.concurrency, pipelining: 1 });
  const secret = randomBytes(32);
  let done = 0, failed = 0, cpu0 = 0, tLast = 0n, firstError = '';
  const w = new Worker(QUEUE, async (job) => {
    const res = await pool.request(request(job, secret, url.pathname));
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`status ${res.statusCode}`);
  }, { connection: connection(o), concurrency: o.concurrency, autorun: false });
  w.on('completed', () => {
    done++;
    if (done + failed === o.n) finish();
  });
  w.on('failed', (_job, err) => {
    failed++;
    firstError ||= String(err && err.message);
    if (done + failed === o.n) finish();
  });
  const finish = () => {
    tLast = nowNs();
    process.send({ type: 'done', done, failed, tLast: String(tLast), cpuUs: cpuUs() - cpu0, firstError });
  };
  const progress = setInterval(() => process.send({ type: 'progress', done, failed }), 500);
  process.on('message', async (m) => {
    if (m.type === 'arm') {
      cpu0 = cpuUs();
      process.send({ type: 'armed' });
    } else if (m.type === 'stop') {
      clearInterval(progress);
      process.send({ type: 'stopped', done, failed, cpuUs: cpuUs() - cpu0, firstError });
      await w.close(true).catch(() => {});
      await pool.close().catch(() => {});
      process.exit(0);
    }
  });
  await w.waitUntilReady();
  w.run().catch((e) => console.error('peer.mjs worker:', e));
  process.send({ type: 'ready' });
}

// ---- producer -------------------------------------------------------------

async function producer(o) {
  const { Queue } = await import('bullmq');
  const q = new Queue(QUEUE, { connection: connection(o) });
  // Retries like hookd's (5 min, growing); jobs kept once done, as hookd
  // keeps its log; the activity's client id is the job id, so a repeated one
  // is not queued twice (hookd dedupes on it too).
  const opts = { attempts: 13, backoff: { type: 'exponential', delay: 300000 } };
  const lines = readFileSync(`${o.shards}.${o.index}`, 'utf8').split('\n').filter(Boolean);
  const batches = [];
  for (let i = 0; i < lines.length; i += o.batch) {
    batches.push(lines.slice(i, i + o.batch).map((l) => {
      const data = JSON.parse(l);
      return { name: 'deliver', data, opts: { ...opts, jobId: data.id } };
    }));
  }
  await q.waitUntilReady();
  process.send({ type: 'loaded', jobs: lines.length });
  process.on('message', async (m) => {
    if (m.type !== 'start') return;
    const cpu0 = cpuUs(), tFirst = nowNs();
    for (const b of batches) await q.addBulk(b);
    const tLast = nowNs();
    process.send({ type: 'added', tFirst: String(tFirst), tLast: String(tLast), cpuUs: cpuUs() - cpu0 });
    await q.close();
    process.exit(0);
  });
}

// ---- orchestrator ---------------------------------------------------------

function procTicks(pid) {
  if (!pid) return -1;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
}

// Forks a child of this file in `role` and returns it with a helper that
// waits for its next message of a given type.
function child(role, args) {
  const c = fork(SELF, [role, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map(), seen = new Map();
  c.on('message', (m) => {
    seen.set(m.type, m);
    const w = waiting.get(m.type);
    if (w) { waiting.delete(m.type); w(m); }
  });
  c.next = (type) => new Promise((resolve, reject) => {
    if (seen.has(type)) return resolve(seen.get(type));
    waiting.set(type, resolve);
    c.once('exit', (code) => reject(new Error(`${role} exited (${code}) before "${type}"`)));
  });
  c.last = (type) => seen.get(type);
  return c;
}

async function run(o) {
  const args = process.argv.slice(3);
  const w = child('worker', args);
  await w.next('ready');
  const ps = [];
  for (let i = 0; i < o.producers; i++) ps.push(child('producer', [...args, '--index', String(i)]));
  const loaded = await Promise.all(ps.map((p) => p.next('loaded')));
  const jobs = loaded.reduce((s, m) => s + m.jobs, 0);
  if (jobs !== o.n) throw new Error(`the shards hold ${jobs} jobs, not ${o.n}`);
  w.send({ type: 'arm' });
  await w.next('armed');
  const r0 = procTicks(o.redisPid);
  for (const p of ps) p.send({ type: 'start' });
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, o.timeout * 1000, null); });
  const fin = await Promise.race([w.next('done'), timeout]);
  clearTimeout(timer);
  const r1 = procTicks(o.redisPid);
  const tEnd = fin ? BigInt(fin.tLast) : nowNs();
  w.send({ type: 'stop' });
  const stopped = await w.next('stopped');
  const added = ps.map((p) => p.last('added')).filter(Boolean);
  for (const p of ps) if (p.exitCode === null) p.kill();
  const tFirst = added.length ? added.map((a) => BigInt(a.tFirst)).reduce((a, b) => (a < b ? a : b)) : tEnd;
  const tLastAdd = added.length ? added.map((a) => BigInt(a.tLast)).reduce((a, b) => (a > b ? a : b)) : tEnd;
  const el = Number(tEnd - tFirst) / 1e9, addS = Number(tLastAdd - tFirst) / 1e9;
  const done = fin ? fin.done : stopped.done, failed = fin ? fin.failed : stopped.failed;
  const workerCpuS = (fin ? fin.cpuUs : stopped.cpuUs) / 1e6;
  const redisCpuS = r0 >= 0 ? (r1 - r0) / o.clkTck : -1;
  const out = {
    n: o.n, completed: done, failed, complete: Boolean(fin) && failed === 0,
    elapsed_s: el, per_s: el > 0 ? done / el : 0, add_s: addS,
    add_per_s: addS > 0 && added.length === o.producers ? o.n / addS : 0,
    worker_cpu_s: workerCpuS, redis_cpu_s: redisCpuS,
    producer_cpu_s: added.reduce((s, a) => s + a.cpuUs, 0) / 1e6,
    cpu_us_per: done > 0 ? (workerCpuS + Math.max(redisCpuS, 0)) * 1e6 / done : -1,
    first_error: (fin || stopped).firstError || null,
  };
  console.error(`  peer: ${done}/${o.n} completed in ${el.toFixed(2)} s = ${out.per_s.toFixed(0)}/s` +
    `${out.complete ? '' : ' (INCOMPLETE)'}; adds took ${addS.toFixed(2)} s; worker CPU ` +
    `${workerCpuS.toFixed(2)} s + Redis ${redisCpuS.toFixed(2)} s = ${out.cpu_us_per.toFixed(1)} µs a delivery`);
  console.log(`RESULT ${JSON.stringify(out)}`);
  process.exit(0);
}

const role = process.argv[2];
const o = options();
const main = { run, worker, producer }[role];
if (!main) {
  console.error('usage: node peer.mjs run --redis-port P --url URL --shards PREFIX --n N …');
  process.exit(2);
}
main(o).catch((e) => {
  console.error(`peer.mjs ${role}: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
