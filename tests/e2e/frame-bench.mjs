// Frame-cost benchmark of the built visualizer in Debian's Chromium (playwright-core).
//
//   node tests/e2e/frame-bench.mjs     # serves ./dist (or $DIST); scripts/bench-frames.sh builds it
//
// The scenario: the default preset, paused at its start, grown with the node panel's
// "Add replica" into a tree of 12 nodes (master + 11 replicas, three levels deep), with a
// 1,000 writes/s load on the master (which replaces the preset's own light load: acting
// at t=0 discards the preset's later steps). Then it plays at 1× and, after a warm-up,
// measures every animation frame for BENCH_SECONDS (10 by default):
//
// * script: the synchronous time of the page's requestAnimationFrame callbacks in that frame
//   (wrapped by an init script). The simulator's advance, the frame build and the reactive
//   DOM updates it triggers all run inside them.
// * after: from the end of the frame's last rAF callback to a message posted from it, which
//   runs once the browser has done that frame's work: the microtasks the callback queued
//   (Leptos runs its effects there), any other task due, style, layout, paint and commit.
// * cost = script + after, reported as p50 / p95 / max over the frames.
// * Chromium's cumulative counters (CDP Performance.getMetrics) over the same window, per
//   frame: all main-thread tasks, script, style, layout. Their total agrees with the mean
//   cost above (checked: 24.9 vs 23.8 ms); their script share includes the microtasks.
// * BENCH_SETTLED=1 fast-forwards until every replica is linked up before measuring (steady
//   state); by default the window starts ~2 s in and includes the tree's full syncs.
// * long-animation-frame entries (PerformanceObserver), when Chromium has them: how many
//   frames took over 50 ms and their style/layout/paint share.
//
// Diagnostics (all optional): BENCH_VERBOSE=1 prints the node boxes and DOM sizes at the end;
// BENCH_MUT=file.js injects a script that may keep `window.__mut.counts` (DOM mutations by
// kind, printed per frame); BENCH_CSS='…' adds a style sheet for the measured window (hide a
// panel to see what it costs the browser); BENCH_DUMP=file.json writes every frame's timings.
//
// Nothing about timing is asserted (it is a benchmark); it fails (exit 1) if the page logs
// a console error or throws, or if the scenario cannot be built.

import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, eventually, serve, sleep, stopServer } from './harness.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = process.env.DIST ? path.resolve(process.env.DIST) : path.join(repoRoot, 'dist');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IGNORED_CONSOLE = [/integrity attribute is currently ignored for preload/i];
const BENCH_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const WRITES_PER_SECOND = '1000';
/** BENCH_SETTLED=1: measure once every replica is linked up (else from t≈2 s, syncs included). */
const SETTLED = Boolean(Number(process.env.BENCH_SETTLED ?? 0));
/** BENCH_TRACE=file.json: also records a Chromium performance trace of the measured window
 * (open it in DevTools' Performance panel; tracing itself makes the frames slower). */
const TRACE = process.env.BENCH_TRACE;
/** BENCH_PROFILE=file.cpuprofile: a sampled JavaScript/wasm CPU profile of the measured window
 * (wasm functions have names only in a build that keeps the name section). */
const PROFILE = process.env.BENCH_PROFILE;
/** BENCH_SCROLL=data-testid: scrolls that element to the top of the view before measuring
 * (the default view shows the topology and the node panel; panels out of view skip rendering,
 * so e.g. BENCH_SCROLL=backlog-master measures the page as seen with the backlogs and chart). */
const SCROLL_TO = process.env.BENCH_SCROLL;
/** The tree: each new replica and the node it replicates from (the preset has r1, r2 of master). */
const TREE = [
  ['r3', 'r1'],
  ['r4', 'r1'],
  ['r5', 'r2'],
  ['r6', 'r2'],
  ['r7', 'r3'],
  ['r8', 'r3'],
  ['r9', 'r4'],
  ['r10', 'r4'],
  ['r11', 'r5'],
];





const byId = (page, id) => page.locator(`[data-testid="${id}"]`);

async function need(page, id, what, ms = 4000) {
  const loc = byId(page, id).first();
  try {
    await loc.waitFor({ state: 'attached', timeout: ms });
  } catch {
    throw new Error(`missing component: no [data-testid="${id}"] (${what}) on the page after ${ms} ms`);
  }
  return loc;
}

async function isPlaying(page) {
  return /pause/i.test((await byId(page, 'play').getAttribute('aria-label')) ?? '');
}

async function setPlaying(page, on) {
  if ((await isPlaying(page)) !== on) await byId(page, 'play').click();
  await eventually(`playing=${on}`, async () => (await isPlaying(page)) === on, 2000);
}

async function nodeNames(page) {
  return page.locator('[data-testid="topology"] g[data-testid^="node-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid').slice(5)));
}

async function selectNode(page, name) {
  const box = byId(page, `node-${name}`).first();
  await box.waitFor({ state: 'attached', timeout: 5000 });
  // Near the top-left corner (the name): message dots travel between box centres.
  await box.click({ position: { x: 14, y: 10 } });
  await eventually(`node-${name} selected`, async () => /\bselected\b/.test((await box.getAttribute('class')) ?? ''), 2000);
}

/** A node box's offset, from its "master_repl_offset N" / "slave_repl_offset N" line. */
async function offsetOf(page, name) {
  return byId(page, `node-${name}`).first().evaluate((el) => {
    for (const t of el.querySelectorAll('text')) {
      const m = /(?:master|slave)_repl_offset\s+(-?[\d,]+)/.exec(t.textContent);
      if (m) return Number(m[1].replace(/,/g, ''));
    }
    return null;
  });
}

/** How many node boxes say "link up". */
async function linkedUp(page) {
  return page.locator('[data-testid="topology"] g[data-testid^="node-"]').evaluateAll((els) =>
    els.filter((e) => [...e.querySelectorAll('text')].some((t) => /link up/.test(t.textContent))).length,
  );
}

const timeMs = async (page) => Number(await byId(page, 'timeline').inputValue());

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');

/** Runs in the page before its scripts: wraps rAF, and watches long animation frames. */
function instrument() {
  const raf = window.requestAnimationFrame.bind(window);
  const channel = new MessageChannel();
  const bench = {
    on: false,
    frames: new Map(), // rAF timestamp → { script, end, render, callbacks }
    loaf: [],
    loafSupported: false,
  };
  window.__bench = bench;
  channel.port1.onmessage = (ev) => {
    const f = bench.frames.get(ev.data);
    if (f && f.render === null) f.render = performance.now() - f.end;
  };
  window.requestAnimationFrame = (cb) =>
    raf((ts) => {
      const t0 = performance.now();
      bench.lastTs = ts;
      try {
        cb(ts);
      } finally {
        if (bench.on) {
          const t1 = performance.now();
          let f = bench.frames.get(ts);
          if (!f) {
            const tl = document.querySelector('[data-testid="timeline"]');
            f = { script: 0, end: t1, render: null, callbacks: 0, virt: tl ? Number(tl.value) : null };
            bench.frames.set(ts, f);
            // Runs after this frame's rendering (style, layout, paint, commit).
            channel.port2.postMessage(ts);
          }
          f.script += t1 - t0;
          f.end = t1;
          f.callbacks += 1;
        }
      }
    });
  try {
    if (PerformanceObserver.supportedEntryTypes?.includes('long-animation-frame')) {
      bench.loafSupported = true;
      new PerformanceObserver((list) => {
        if (!bench.on) return;
        for (const e of list.getEntries()) {
          const end = e.startTime + e.duration;
          bench.loaf.push({
            duration: e.duration,
            blocking: e.blockingDuration ?? 0,
            render: e.renderStart ? end - e.renderStart : 0,
            styleLayout: e.styleAndLayoutStart ? end - e.styleAndLayoutStart : 0,
            scripts: (e.scripts ?? []).reduce((a, s) => a + s.duration, 0),
          });
        }
      }).observe({ type: 'long-animation-frame', buffered: false });
    }
  } catch {
    bench.loafSupported = false;
  }
}

let server;
let browser;
let failed = false;
const problems = [];

process.on('SIGINT', () => {
  stopServer(server);
  process.exit(130);
});

try {
  if (!existsSync(path.join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html not found: build the page first (scripts/bench-frames.sh does)`);
  }
  const wasm = readdirSync(dist).find((f) => f.endsWith('.wasm'));
  let url;
  ({ url, server } = await serve(dist));

  browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (!IGNORED_CONSOLE.some((re) => re.test(text))) problems.push(`console error: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.addInitScript(instrument);
  if (process.env.BENCH_MUT) await page.addInitScript({ path: process.env.BENCH_MUT });
  await page.goto(url, { waitUntil: 'load' });
  await need(page, 'topology', 'the topology drawing', 15_000);
  await eventually('the default preset drawn', async () => (await nodeNames(page)).length === 3);

  // Build the scenario at t≈0, paused.
  await setPlaying(page, false);
  for (const [name, of] of TREE) {
    await selectNode(page, of);
    const add = await need(page, 'act-add-replica', "the node panel's Add replica action");
    await add.click();
    await eventually(`node-${name} (replica of ${of}) to appear`, async () => (await nodeNames(page)).includes(name), 3000).catch(async (err) => {
      throw new Error(`${err.message}; nodes now: ${(await nodeNames(page)).join(', ')}`);
    });
  }
  const names = await nodeNames(page);
  if (names.length !== 12) throw new Error(`expected 12 nodes, the page draws ${names.length}: ${names.join(', ')}`);
  await selectNode(page, 'master');
  const rate = await need(page, 'load-rate', "the node panel's load rate");
  if ((await rate.evaluate((el) => el.tagName)) === 'SELECT') await rate.selectOption(WRITES_PER_SECOND);
  else await rate.fill(WRITES_PER_SECOND);
  await (await need(page, 'act-load', "the node panel's Start load action")).click();
  const loadState = await byId(page, 'load-state').first().textContent().catch(() => null);

  if (SETTLED) {
    // Steady state: fast-forward until every replica is linked up (each level of the tree
    // waits its master's repl-diskless-sync-delay, 5 s by default, so this takes ~25 s virtual).
    await byId(page, 'speed').selectOption('25');
    await setPlaying(page, true);
    await eventually('all 11 replicas linked up', async () => (await linkedUp(page)) === 11, 120_000);
  }
  await byId(page, 'speed').selectOption('1');
  await setPlaying(page, true);
  await sleep(WARMUP_SECONDS * 1000);

  // Chromium's own cumulative main-thread counters (seconds), as a cross-check of the means.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const m0 = await metrics();
  const v0 = await timeMs(page);
  const off0 = await offsetOf(page, 'master');
  await page.evaluate(() => {
    window.__bench.frames.clear();
    window.__bench.loaf.length = 0;
    window.__bench.on = true;
    if (window.__mut) window.__mut.on = true;
  });
  if (process.env.BENCH_CSS) await page.addStyleTag({ content: process.env.BENCH_CSS });
  if (SCROLL_TO) await need(page, SCROLL_TO, 'the panel to scroll to').then((l) => l.evaluate((el) => el.scrollIntoView({ block: 'start' })));
  if (PROFILE) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  if (TRACE) await browser.startTracing(page, { path: TRACE, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'cc', 'gpu'] });
  const wall0 = Date.now();
  await sleep(BENCH_SECONDS * 1000);
  await page.evaluate(() => {
    window.__bench.on = false;
  });
  if (TRACE) await browser.stopTracing();
  if (PROFILE) writeFileSync(PROFILE, JSON.stringify((await cdp.send('Profiler.stop')).profile));
  const wall = (Date.now() - wall0) / 1000;
  const m1 = await metrics();
  await sleep(100);
  const v1 = await timeMs(page);
  const off1 = await offsetOf(page, 'master');
  const data = await page.evaluate(() => ({
    frames: [...window.__bench.frames.entries()].map(([ts, f]) => ({ ts, ...f })),
    loaf: window.__bench.loaf,
    loafSupported: window.__bench.loafSupported,
  }));
  const states = await page.locator('[data-testid="topology"] g[data-testid^="node-"]').evaluateAll((els) =>
    els.map((e) => {
      const t = [...e.querySelectorAll('text')].map((x) => x.textContent.trim());
      return `${t[0]}: ${t.slice(1).join(' | ')}`;
    }),
  );
  const replicasUp = states.filter((l) => /link up/.test(l)).length;

  const frames = data.frames.filter((f) => f.render !== null);
  if (process.env.BENCH_DUMP) writeFileSync(process.env.BENCH_DUMP, JSON.stringify(frames));
  const script = frames.map((f) => f.script).sort((a, b) => a - b);
  const after = frames.map((f) => f.render).sort((a, b) => a - b);
  const cost = frames.map((f) => f.script + f.render).sort((a, b) => a - b);
  const ts = data.frames.map((f) => f.ts).sort((a, b) => a - b);
  const gaps = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);

  console.log(`# frame bench: ${wasm} (${(statSync(path.join(dist, wasm)).size / 1024).toFixed(0)} KiB), ${names.length} nodes, ${WRITES_PER_SECOND} writes/s, speed 1×, ${SETTLED ? 'steady state (all replicas linked up first)' : 'from the start (the tree\'s full syncs included)'}`);
  if (loadState) console.log(`# ${loadState.trim()}`);
  if (SCROLL_TO) console.log(`# scrolled to [data-testid="${SCROLL_TO}"] before measuring`);
  console.log(`# ${data.frames.length} animation frames in ${wall.toFixed(1)} s wall (${(data.frames.length / wall).toFixed(1)} fps); virtual time ${(v0 / 1000).toFixed(2)} → ${(v1 / 1000).toFixed(2)} s; master offset ${off0} → ${off1} (${Math.round((off1 - off0) / Math.max(0.001, (v1 - v0) / 1000))} bytes/virtual s); ${replicasUp} of 11 replicas linked up`);
  console.log(`# script (rAF callbacks: sim + frame + DOM updates) p50 ${f2(pct(script, 50))} ms, p95 ${f2(pct(script, 95))} ms, max ${f2(script.at(-1))} ms`);
  console.log(`# after (microtask effects, other tasks, style/layout/paint/commit) p50 ${f2(pct(after, 50))} ms, p95 ${f2(pct(after, 95))} ms, max ${f2(after.at(-1))} ms`);
  console.log(`# frame interval p50 ${f1(pct(gaps, 50))} ms, p95 ${f1(pct(gaps, 95))} ms, max ${f1(gaps.at(-1))} ms`);
  const per = (k) => ((m1[k] - m0[k]) * 1000) / Math.max(1, data.frames.length);
  console.log(`# Chromium counters per frame (means): all main-thread tasks ${f2(per('TaskDuration'))} ms, script ${f2(per('ScriptDuration'))} ms, style ${f2(per('RecalcStyleDuration'))} ms, layout ${f2(per('LayoutDuration'))} ms`);
  const mean = (xs) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
  console.log(`# means of the per-frame timings: script ${f2(mean(script))} ms, after ${f2(mean(after))} ms, cost ${f2(mean(cost))} ms`);
  // The panels that follow the coarse tick (a tenth of a wall second at 1×) each move on
  // their own sixth of it, so grouping frames by sixth shows what each costs. The sixths are
  // of wall time: which panel lands on which sixth shifts from run to run.
  const sixths = [0, 1, 2, 3, 4, 5].map((k) => frames.filter((f) => Math.floor((f.ts % 100) / (100 / 6)) === k).map((f) => f.script + f.render).sort((a, b) => a - b));
  console.log(`# cost p50 by sixth of each wall tenth of a second: ${sixths.map((c) => f1(pct(c, 50))).join(' / ')} ms (the cheapest: frames where no panel moves)`);
  const worst = [...frames].sort((a, b) => b.script + b.render - (a.script + a.render)).slice(0, 5);
  console.log(`# worst frames: ${worst.map((f) => `${f1(f.script + f.render)} ms (script ${f1(f.script)}, after ${f1(f.render)}) at virtual ${(f.virt / 1000).toFixed(2)} s`).join('; ')}`);
  if (process.env.BENCH_MUT) {
    const counts = await page.evaluate(() => window.__mut.counts);
    const n = data.frames.length;
    for (const [k, v] of Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(`# mutations per frame ${(v / n).toFixed(2)} ${k}`);
  }
  if (process.env.BENCH_VERBOSE) {
    for (const l of states) console.log(`#   ${l}`);
    const dom = await page.evaluate(() => ({
      all: document.getElementsByTagName('*').length,
      topo: document.querySelectorAll('[data-testid="topology"] *').length,
      dots: document.querySelectorAll('[data-testid="message"]').length,
    }));
    console.log(`# DOM at the end: ${dom.all} elements, ${dom.topo} in the topology, ${dom.dots} message dots`);
    const panels = await page.evaluate(() =>
      [...document.querySelectorAll('section')].map((el) => {
        const r = el.getBoundingClientRect();
        const inner = el.firstElementChild;
        const skipped = inner && inner.checkVisibility && !inner.checkVisibility({ contentVisibilityAuto: true });
        return `${el.className.split(' ').slice(-1)[0]} ${Math.round(r.top)}–${Math.round(r.bottom)}${skipped ? ' (not rendered)' : ''}`;
      }),
    );
    console.log(`# sections (view height ${await page.evaluate(() => innerHeight)}): ${panels.join(', ')}`);
  }
  if (data.loafSupported) {
    const l = data.loaf;
    const sum = (k) => l.reduce((a, e) => a + e[k], 0);
    console.log(
      `# long animation frames (>50 ms): ${l.length}` +
        (l.length ? `, max ${f1(Math.max(...l.map((e) => e.duration)))} ms, mean style+layout ${f1(sum('styleLayout') / l.length)} ms, mean render ${f1(sum('render') / l.length)} ms, mean scripts ${f1(sum('scripts') / l.length)} ms` : ''),
    );
  } else {
    console.log('# long-animation-frame entries: not supported by this Chromium');
  }
  console.log(`frame cost p50 ${f2(pct(cost, 50))} ms, p95 ${f2(pct(cost, 95))} ms, max ${f2(cost.at(-1))} ms over ${cost.length} frames`);
  if (cost.length === 0) {
    failed = true;
    console.log('not ok - no animation frames were measured');
  }
  await context.close();
} catch (err) {
  failed = true;
  console.log('not ok - frame bench');
  for (const line of String(err?.stack ?? err).split('\n')) console.log(`#   ${line}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  stopServer(server);
}

if (problems.length) {
  failed = true;
  console.log('not ok - the page logged errors during the bench');
  for (const p of problems.slice(0, 20)) console.log(`#   ${p}`);
}
process.exit(failed ? 1 : 0);
