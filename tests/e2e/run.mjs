// End-to-end checks of the built visualizer in Debian's Chromium, with playwright-core's
// library API (no test runner, no browser download).
//
//   node tests/e2e/run.mjs            # serves ./dist (or $DIST) on a free 127.0.0.1 port
//   node tests/e2e/run.mjs preset     # only the tests whose name contains "preset"
//
// Every test gets a fresh page (tests are independent), and fails if that page logs a
// console error or throws. A component that is not on the page yet makes its tests fail
// with a message naming the missing data-testid: nothing is skipped.
//
// The preset tests compare the page with the native CLI (`replscope run --preset NAME`),
// which they run through cargo (or $REPLSCOPE_BIN, a built `replscope` binary).
//
// Prints `ok - name` / `not ok - name` per test and ends with `N passed, N failed`;
// exits non-zero on any failure. Build first: see README / package.json "build:web".

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, eventually, serve, sleep, stopServer } from './harness.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = process.env.DIST ? path.resolve(process.env.DIST) : path.join(repoRoot, 'dist');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Wall-clock limit of one test. */
const TEST_TIMEOUT_MS = Number(process.env.E2E_TEST_TIMEOUT_MS ?? 120_000);
/** How long a test waits for a component to appear before failing as "missing". */
const COMPONENT_WAIT_MS = 4_000;
/** Console messages that are known and harmless. */
const IGNORED_CONSOLE = [/integrity attribute is currently ignored for preload/i];

// ---- small utilities ----





function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const byId = (page, id) => page.locator(`[data-testid="${id}"]`);

/**
 * The element with data-testid `id`, waiting for it to be attached. A component that is
 * not there fails the test with a message that says which one (nothing is skipped).
 */
async function need(page, id, what, ms = COMPONENT_WAIT_MS) {
  const loc = byId(page, id);
  try {
    await loc.first().waitFor({ state: 'attached', timeout: ms });
  } catch {
    throw new Error(`missing component: no [data-testid="${id}"] (${what}) on the page after ${ms} ms`);
  }
  return loc.first();
}

// ---- the native CLI: expected outcomes ----

let cliCache;

function cli(args) {
  const bin = process.env.REPLSCOPE_BIN;
  const r = bin
    ? spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
    : spawnSync('cargo', ['run', '-q', '-p', 'replscope-sim', '--bin', 'replscope', '--', ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
  if (r.error) throw new Error(`cannot run the replscope CLI (${bin ?? 'cargo run'}): ${r.error.message}`);
  return r;
}

/** Preset names, in the CLI's order. */
function presetNames() {
  if (!cliCache) {
    const r = cli(['presets']);
    if (r.status !== 0) throw new Error(`replscope presets failed (status ${r.status}): ${r.stderr}`);
    cliCache = { names: r.stdout.split('\n').map((s) => s.trim()).filter(Boolean), runs: new Map() };
  }
  return cliCache.names;
}

/**
 * What the CLI prints for a preset: the end time of its run, and each node's role and
 * offset from the INFO replication printed at the end.
 *
 * The end time is the world's time after the last step plus tail_ms: the last step's `at`,
 * or later when that step's command waited for its reply (its timeline line says when).
 * The CLI asks the nodes for INFO in order, and asking a node that is down waits 1 s for a
 * reply that never comes: the nodes after it are read that much later, and so is the page.
 */
function cliOutcome(name) {
  presetNames();
  if (cliCache.runs.has(name)) return cliCache.runs.get(name);
  const r = cli(['run', '--preset', name]);
  if (r.status !== 0) throw new Error(`replscope run --preset ${name} failed (status ${r.status}): ${r.stderr}`);
  const toml = readFileSync(path.join(repoRoot, 'crates', 'sim', 'presets', `${name}.toml`), 'utf8');
  const tail = Number(/^tail_ms\s*=\s*(\d+)/m.exec(toml)?.[1] ?? 2000);
  const stepAts = [...toml.matchAll(/^at\s*=\s*(\d+)/gm)].map((m) => Number(m[1]));
  const lineAts = [...r.stdout.matchAll(/^\s*(\d+\.\d{3})s {2}/gm)].map((m) => Math.round(Number(m[1]) * 1000));
  const lastStep = Math.max(0, ...stepAts, ...lineAts);
  const end = lastStep + tail;
  const nodes = [];
  let downBefore = 0;
  for (const block of r.stdout.split(/^-- /m).slice(1)) {
    const node = /^(\S+): INFO replication/.exec(block)?.[1];
    if (!node) continue;
    const field = (f) => new RegExp(`^${f}:(.*)$`, 'm').exec(block)?.[1]?.trim();
    if (/^\(down\)/m.test(block)) {
      nodes.push({ name: node, at: end + 1000 * downBefore, role: 'down', offset: null });
      downBefore += 1;
      continue;
    }
    const role = field('role') === 'slave' ? 'replica' : field('role');
    const offset = Number(role === 'replica' ? field('slave_repl_offset') : field('master_repl_offset'));
    nodes.push({ name: node, at: end + 1000 * downBefore, role, offset });
  }
  const out = { end, nodes, stdout: r.stdout };
  cliCache.runs.set(name, out);
  return out;
}

// ---- page helpers ----

/** Current virtual time (ms), from the timeline scrubber's value. */
async function timeMs(page) {
  return Number(await byId(page, 'timeline').inputValue());
}

async function isPlaying(page) {
  const label = (await byId(page, 'play').getAttribute('aria-label')) ?? '';
  return /pause/i.test(label);
}

async function setPlaying(page, on) {
  if ((await isPlaying(page)) !== on) await byId(page, 'play').click();
  await eventually(on ? 'the play button to say Pause' : 'the play button to say Play', async () => (await isPlaying(page)) === on, 2000);
}

async function setSpeed(page, speed) {
  await byId(page, 'speed').selectOption(String(speed));
}

async function pickPreset(page, name) {
  const select = byId(page, 'preset');
  const values = await select.locator('option').evaluateAll((os) => os.map((o) => o.value));
  assert(values.includes(name), `the preset picker has no option "${name}" (it has: ${values.join(', ')})`);
  // Slowly, so the freshly loaded run is seen near t=0 (callers set their own speed after).
  await setSpeed(page, 0.1);
  await select.selectOption(name);
  await eventually(`the page to load preset ${name}`, async () => (await select.inputValue()) === name && (await timeMs(page)) < 1000, 5000);
}

/** Plays at speed 100 until the virtual time reaches `t`, then pauses. */
async function playPast(page, t, speed = 100) {
  await setSpeed(page, speed);
  await setPlaying(page, true);
  const wall = Math.max(20_000, (t / speed) * 6);
  await eventually(`virtual time to pass ${t} ms (it is ${await timeMs(page)} ms)`, async () => (await timeMs(page)) >= t, wall);
  await setPlaying(page, false);
}

/** Seeks with the scrubber (a range input's 'input' event), and waits for the page to be there. */
async function seekTo(page, t) {
  await byId(page, 'timeline').fill(String(t));
  await eventually(`the timeline to show ${t} ms (it shows ${await timeMs(page)})`, async () => (await timeMs(page)) === t, 5000);
}

/** Names of the node boxes drawn. */
async function nodeNames(page) {
  // The boxes in the drawing (the node panel's testids start with "node-" too).
  return page.locator('[data-testid="topology"] g[data-testid^="node-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid').slice(5)));
}

/** What a node box says: its lines of text, its role word and its offset. */
async function nodeBox(page, name) {
  const box = byId(page, `node-${name}`);
  if ((await box.count()) === 0) return null;
  return box.first().evaluate((el) => {
    const texts = [...el.querySelectorAll('text')].map((t) => t.textContent.trim());
    const roleEl = el.querySelector('text.role');
    const role = (roleEl ? roleEl.textContent : texts.find((t) => /^(master|replica|down)\b/.test(t)) ?? '').trim();
    let offset = null;
    for (const t of texts) {
      const m = /(?:master|slave)_repl_offset\s+(-?[\d,]+)/.exec(t);
      if (m) offset = Number(m[1].replace(/,/g, ''));
    }
    return { texts, role, offset, cls: el.getAttribute('class') ?? '' };
  });
}

/** All node boxes' texts, for comparing two moments. */
async function allNodeTexts(page) {
  const out = {};
  for (const n of await nodeNames(page)) out[n] = (await nodeBox(page, n))?.texts;
  return out;
}

/** Clicks a node box: its panel opens. */
async function selectNode(page, name) {
  const box = byId(page, `node-${name}`);
  await eventually(`node box node-${name}`, async () => (await box.count()) > 0, 5000);
  // Near the top-left corner (the name): message dots travel between box centres.
  await box.first().click({ position: { x: 14, y: 10 } });
  await eventually(`node-${name} to be selected`, async () => /\bselected\b/.test((await box.first().getAttribute('class')) ?? ''), 2000);
}

/** Types a line in the selected node's console and returns the output that appeared. */
async function consoleRun(page, line) {
  const input = await need(page, 'console-input', "the node panel's console input");
  const output = await need(page, 'console-output', "the node panel's console output");
  // The transcript's text, without the hint shown while it is empty.
  const text = () => output.evaluate((el) => [...el.children].filter((c) => !c.classList.contains('hint')).map((c) => c.textContent).join('\n'));
  const before = await text();
  await input.fill(line);
  await input.press('Enter');
  await eventually(`the console to answer ${line}`, async () => {
    const now = await text();
    return now.length > before.length + line.length && now.startsWith(before);
  });
  await sleep(150);
  return (await text()).slice(before.length);
}

async function click(page, id, what) {
  const el = await need(page, id, what);
  await el.click();
}

// ---- the tests ----

const tests = [];
const test = (name, fn, opts = {}) => tests.push({ name, fn, ...opts });

test('the page loads, draws the default preset and plays it', async (page) => {
  assertEqual(await page.title(), 'ReplScope', 'title');
  await need(page, 'topology', 'the topology drawing');
  await eventually('three node boxes', async () => (await nodeNames(page)).length === 3);
  assertEqual((await nodeNames(page)).sort(), ['master', 'r1', 'r2'], 'nodes');
  assertEqual(await byId(page, 'preset').inputValue(), 'default', 'preset shown');
  assert(await isPlaying(page), 'the page should open playing');
  const t0 = await timeMs(page);
  await eventually('the clock to move', async () => (await timeMs(page)) > t0 + 200, 5000);
  assertEqual((await nodeBox(page, 'master')).role, 'master', 'master role');
  for (const r of ['r1', 'r2']) assertEqual((await nodeBox(page, r)).role, 'replica', `${r} role`);
  await eventually('edges for both replicas', async () => (await byId(page, 'edge-r1').count()) + (await byId(page, 'edge-r2').count()) === 2);
});

test('release-build smoke: the bundle renders nodes, messages and moves time', async (page) => {
  const files = readdirSync(dist).filter((f) => f.endsWith('.wasm'));
  assert(files.length === 1, `expected one .wasm in ${dist}, found ${files.join(', ') || 'none'}`);
  const size = statSync(path.join(dist, files[0])).size;
  console.log(`#   bundle: ${files[0]} ${(size / 1024).toFixed(0)} KiB${size > 4 << 20 ? ' (looks like a dev build)' : ''}`);
  await eventually('node boxes with offsets', async () => {
    const names = await nodeNames(page);
    if (names.length === 0) return false;
    const boxes = await Promise.all(names.map((n) => nodeBox(page, n)));
    return boxes.every((b) => b && b.role && b.offset !== null);
  });
  await setSpeed(page, 1);
  await eventually('a message dot in flight', async () => (await byId(page, 'message').count()) > 0, 8000);
  await eventually('the replicas to be linked up', async () => {
    const b = await nodeBox(page, 'r1');
    return b?.texts.some((t) => /link up/.test(t));
  }, 15_000);
});

// Every preset runs to its end and shows what the CLI prints at the same virtual time.
const PRESETS_FOR_TESTS = (() => {
  try {
    return presetNames();
  } catch (err) {
    return { error: err };
  }
})();

if (PRESETS_FOR_TESTS.error) {
  test('presets: list them with the native CLI', async () => {
    throw PRESETS_FOR_TESTS.error;
  });
} else {
  test('presets: the page offers every preset the CLI lists', async (page) => {
    const values = await byId(page, 'preset').locator('option').evaluateAll((os) => os.map((o) => o.value));
    assertEqual([...values].sort(), [...PRESETS_FOR_TESTS].sort(), 'preset options');
    assertEqual(PRESETS_FOR_TESTS.length, 12, 'number of presets');
  });
  for (const name of PRESETS_FOR_TESTS) {
    test(`preset ${name}: roles and offsets at the end match the CLI`, async (page) => {
      const want = cliOutcome(name);
      await pickPreset(page, name);
      const last = Math.max(...want.nodes.map((n) => n.at));
      await playPast(page, last + 300);
      const mismatches = [];
      const seen = [];
      for (const at of [...new Set(want.nodes.map((n) => n.at))]) {
        await seekTo(page, at);
        await sleep(50);
        for (const n of want.nodes.filter((x) => x.at === at)) {
          const box = await nodeBox(page, n.name);
          const got = box ? { role: box.role.split(' ')[0], offset: n.role === 'down' ? null : box.offset } : null;
          seen.push(`${n.name}@${at}: ${JSON.stringify(box?.texts)}`);
          if (!got || got.role !== n.role || got.offset !== n.offset) {
            mismatches.push(`${n.name} at ${at} ms: CLI says ${n.role} ${n.offset ?? ''}, page says ${got ? `${got.role} ${got.offset ?? ''}` : 'no node box'}`);
          }
        }
      }
      const drawn = (await nodeNames(page)).sort();
      const listed = want.nodes.map((n) => n.name).sort();
      if (JSON.stringify(drawn) !== JSON.stringify(listed)) mismatches.push(`nodes drawn ${drawn} vs CLI ${listed}`);
      if (mismatches.length) throw new Error(`${mismatches.join('\n')}\npage: ${seen.join('\n      ')}`);
    });
  }
  const SYNC_KIND = { 'partial-resync': 'PARTIAL', 'backlog-overrun': 'FULL', 'first-sync': 'FULL' };
  for (const [name, kind] of Object.entries(SYNC_KIND)) {
    test(`preset ${name}: the decisions panel shows a ${kind} resync`, async (page) => {
      const want = cliOutcome(name);
      await pickPreset(page, name);
      await playPast(page, want.end);
      await seekTo(page, want.end);
      await need(page, 'decision', 'the PSYNC decision rows of the insight panel');
      // Rows are listed newest first; each has a verdict badge and the virtual time.
      const rows = await byId(page, 'decision').evaluateAll((els) =>
        els.map((el) => ({
          text: el.textContent.replace(/\s+/g, ' ').trim(),
          badge: (el.querySelector('.badge-verdict') ?? el).textContent.trim(),
          cls: el.getAttribute('class') ?? '',
          time: el.querySelector('time')?.textContent ?? '',
        })),
      );
      const verdict = (r) => (/^PARTIAL/i.test(r.badge) ? 'PARTIAL' : /^FULL/i.test(r.badge) ? 'FULL' : '?');
      assert(rows.some((r) => verdict(r) === kind), `no decision row says ${kind}; rows: ${JSON.stringify(rows.map((r) => r.text))}`);
      const secs = (r) => Number((/([\d.]+)\s*s/.exec(r.time) ?? [])[1] ?? NaN);
      const newest = rows.reduce((a, b) => (secs(b) > secs(a) ? b : a), rows[0]);
      // partial-resync: the first attach is full, the reconnect after the heal partial.
      // backlog-overrun: the reconnect asks for bytes the backlog lost, so it is full again.
      assertEqual(verdict(newest), kind, `verdict of the newest decision (${JSON.stringify(newest.text)})`);
      assert(new RegExp(`\\b${kind.toLowerCase()}\\b`).test(newest.cls), `the newest decision row's class (${newest.cls}) should mark it ${kind.toLowerCase()}`);
      if (name === 'partial-resync') assert(rows.some((r) => verdict(r) === 'FULL'), 'the first attach (a full sync) should be listed too');
      if (name === 'backlog-overrun') assert(rows.filter((r) => verdict(r) === 'FULL').length >= 2, `two full syncs expected (attach, then after the overrun); rows: ${JSON.stringify(rows.map((r) => r.text))}`);
    });
  }
}

for (const name of ['default', 'failover']) {
  test(`share link ?scenario=${name}&t=END opens paused at END with the CLI's state`, async (page) => {
    const want = cliOutcome(name);
    for (const at of [...new Set(want.nodes.map((n) => n.at))]) {
      await page.goto(`${BASE_URL}?scenario=${name}&t=${at}`, { waitUntil: 'load' });
      await need(page, 'topology', 'the topology drawing', 15_000);
      await eventually(`the page to open at ${at} ms (it shows ${await timeMs(page)})`, async () => (await timeMs(page)) === at, 15_000);
      assert(!(await isPlaying(page)), 'a link with t= opens paused');
      assertEqual(await byId(page, 'preset').inputValue(), name, 'preset shown');
      for (const n of want.nodes.filter((x) => x.at === at)) {
        const box = await nodeBox(page, n.name);
        assert(box, `no node-${n.name} box`);
        assertEqual({ role: box.role.split(' ')[0], offset: n.role === 'down' ? null : box.offset }, { role: n.role, offset: n.offset }, `${n.name} at ${at} ms`);
      }
    }
  });
}

test('console: SET, GET and a bad quote on the selected node', async (page) => {
  await setPlaying(page, false);
  await selectNode(page, 'master');
  const set = await consoleRun(page, 'SET k v');
  assert(/(^|\n)\s*OK\s*$/m.test(set), `SET k v should answer OK, the console printed: ${JSON.stringify(set)}`);
  const get = await consoleRun(page, 'GET k');
  assert(/"v"/.test(get), `GET k should answer "v", the console printed: ${JSON.stringify(get)}`);
  const bad = await consoleRun(page, 'SET "oops');
  assert(/Invalid argument\(s\)/.test(bad), `an unbalanced quote should print Invalid argument(s), the console printed: ${JSON.stringify(bad)}`);
  // The write is part of the story: the replicas get it.
  await setSpeed(page, 10);
  await setPlaying(page, true);
  await selectNode(page, 'r1');
  await eventually('r1 to have k', async () => /"v"/.test(await consoleRun(page, 'GET k')), 10_000);
});

test('console: markup typed in the console is shown as text', async (page) => {
  await setPlaying(page, false);
  await selectNode(page, 'master');
  const key = '<img src=x onerror=alert(1)>';
  let dialogs = 0;
  page.on('dialog', (d) => {
    dialogs += 1;
    d.dismiss().catch(() => {});
  });
  const out = await consoleRun(page, `SET "${key}" v`);
  assert(/OK/.test(out), `SET answered ${JSON.stringify(out)}`);
  assertEqual(await page.locator('img').count(), 0, 'img elements on the page');
  assertEqual(dialogs, 0, 'dialogs opened');
});

test('info: the selected node shows INFO replication', async (page) => {
  await setPlaying(page, false);
  await selectNode(page, 'r1');
  const info = await need(page, 'info-replication', "the node panel's INFO replication");
  const text = await info.textContent();
  assert(/role:slave/.test(text) && /master_host:master/.test(text), `INFO replication of r1 should say role:slave, master_host:master: ${JSON.stringify(text.slice(0, 300))}`);
});

/** Plays the default preset until both replicas are linked up, then pauses. */
async function settledDefault(page) {
  await setSpeed(page, 10);
  await setPlaying(page, true);
  await eventually('both replicas linked up', async () => {
    for (const r of ['r1', 'r2']) {
      const b = await nodeBox(page, r);
      if (!b?.texts.some((t) => /link up/.test(t))) return false;
    }
    return true;
  }, 20_000);
  await setPlaying(page, false);
}

async function waitNode(page, name, what, pred, ms = 15_000) {
  let last;
  try {
    return await eventually(what, async () => {
      last = await nodeBox(page, name);
      return last && pred(last);
    }, ms);
  } catch (err) {
    throw new Error(`${err.message}; node-${name} says ${JSON.stringify(last?.texts ?? null)} (class ${last?.cls ?? '-'})`);
  }
}

test('faults: crash a replica, then restart it', async (page) => {
  await settledDefault(page);
  await selectNode(page, 'r1');
  await click(page, 'act-crash', "the node panel's Crash action");
  await waitNode(page, 'r1', 'r1 to be shown down', (b) => b.role.startsWith('down') || /\bdown\b/.test(b.cls), 3000);
  await click(page, 'act-restart', "the node panel's Restart action");
  await waitNode(page, 'r1', 'r1 to be up again', (b) => !b.role.startsWith('down'), 3000);
  await setSpeed(page, 10);
  await setPlaying(page, true);
  await waitNode(page, 'r1', 'r1 to reconnect (link up)', (b) => b.texts.some((t) => /link up/.test(t)));
});

test('faults: restart empty (disk lost) comes back with a full sync', async (page) => {
  await settledDefault(page);
  await selectNode(page, 'r2');
  await click(page, 'act-crash', "the node panel's Crash action");
  await waitNode(page, 'r2', 'r2 down', (b) => b.role.startsWith('down'), 3000);
  await click(page, 'act-restart-empty', "the node panel's Restart-empty action");
  await waitNode(page, 'r2', 'r2 up again', (b) => !b.role.startsWith('down'), 3000);
  await setSpeed(page, 10);
  await setPlaying(page, true);
  await waitNode(page, 'r2', 'r2 to resync (link up)', (b) => b.texts.some((t) => /link up/.test(t)));
  // With no RDB it has no history to offer: the master's decision is a full resync.
  await need(page, 'decision', 'the PSYNC decision rows of the insight panel');
  const rows = await byId(page, 'decision').evaluateAll((els) =>
    els.map((el) => ({ who: (el.querySelector('.who') ?? el).textContent.replace(/\s+/g, ' ').trim(), text: el.textContent.replace(/\s+/g, ' ').trim() })),
  );
  const forR2 = rows.filter((r) => /→ ?r2$/.test(r.who) || /→ ?r2\b/.test(r.who));
  assert(forR2.length >= 2 && /^FULL/.test(forR2[0].text), `a second FULL decision for r2 expected (newest first); rows: ${JSON.stringify(rows.map((r) => r.text))}`);
});

test('faults: cut a link (edge shows cut, link goes down after the timeout), then heal', async (page) => {
  await settledDefault(page);
  await selectNode(page, 'r1');
  await click(page, 'link-cut', "the node panel's Cut link control");
  const edge = byId(page, 'edge-r1');
  await eventually('edge-r1 to show the cut (class "cut" / label)', async () => {
    const cls = (await edge.getAttribute('class')) ?? '';
    return /\bcut\b/.test(cls) && /cut/.test((await edge.textContent()) ?? '');
  }, 3000);
  await setSpeed(page, 100);
  await setPlaying(page, true);
  // repl-timeout (60 s by default) on the replica's side ends the link.
  await waitNode(page, 'r1', 'r1 to notice its master is gone (link not up)', (b) => b.texts.some((t) => /^link /.test(t) && !/link up/.test(t)), 30_000);
  await setPlaying(page, false);
  await click(page, 'link-heal', "the node panel's Heal link control");
  await eventually('edge-r1 not cut any more', async () => !/\bcut\b/.test((await edge.getAttribute('class')) ?? ''), 3000);
  await setSpeed(page, 10);
  await setPlaying(page, true);
  await waitNode(page, 'r1', 'r1 linked up after the heal', (b) => b.texts.some((t) => /link up/.test(t)), 30_000);
  await eventually('edge-r1 up', async () => /\bup\b/.test((await edge.getAttribute('class')) ?? ''), 5000);
});

test('faults: promote a replica to master', async (page) => {
  await settledDefault(page);
  await selectNode(page, 'r1');
  await click(page, 'act-promote', "the node panel's Promote action");
  await waitNode(page, 'r1', 'r1 to be master', (b) => b.role.startsWith('master'), 3000);
  assertEqual(await byId(page, 'edge-r1').count(), 0, 'an edge from r1 to its old master');
});

test('faults: pause a node (DEBUG SLEEP-like) shows it paused', async (page) => {
  await settledDefault(page);
  await selectNode(page, 'r2');
  await click(page, 'act-pause', "the node panel's Pause action");
  await waitNode(page, 'r2', 'r2 to be shown paused', (b) => /paused/.test(b.role) || /\bpaused\b/.test(b.cls), 3000);
  // The pause (2 s by default) ends on its own and the node catches up.
  await setSpeed(page, 10);
  await setPlaying(page, true);
  await waitNode(page, 'r2', 'r2 to wake up and be linked up', (b) => !/paused/.test(b.role) && b.texts.some((t) => /link up/.test(t)), 15_000);
});

test('faults: add a replica (a new node box that syncs), then remove it', async (page) => {
  await settledDefault(page);
  const before = await nodeNames(page);
  await selectNode(page, 'master');
  await click(page, 'act-add-replica', "the node panel's Add replica action");
  const added = await eventually('a new node box', async () => {
    const now = await nodeNames(page);
    return now.find((n) => !before.includes(n));
  }, 3000);
  await setSpeed(page, 10);
  await setPlaying(page, true);
  await waitNode(page, added, `${added} to sync (link up)`, (b) => b.role.startsWith('replica') && b.texts.some((t) => /link up/.test(t)), 20_000);
  await setPlaying(page, false);
  await selectNode(page, added);
  await click(page, 'act-remove', "the node panel's Remove action");
  await eventually(`node-${added} to disappear`, async () => (await byId(page, `node-${added}`).count()) === 0, 3000);
});

test('faults: load start/stop changes the master offset rate', async (page) => {
  await settledDefault(page);
  await selectNode(page, 'master');
  const rate = await need(page, 'load-rate', "the node panel's load rate select");
  await rate.selectOption('1000');
  await click(page, 'act-load', "the node panel's Start load action");
  const o1 = (await nodeBox(page, 'master')).offset;
  await setSpeed(page, 1);
  await setPlaying(page, true);
  await sleep(1500);
  await setPlaying(page, false);
  const o2 = (await nodeBox(page, 'master')).offset;
  assert(o2 - o1 > 10_000, `1000 writes/s for ~1.5 s of virtual time should add thousands of bytes, the offset went ${o1} → ${o2}`);
  await click(page, 'act-stop-load', "the node panel's Stop load action");
});

test('insight: backlog strips, offsets chart with a line per node, a fault mark after a crash', async (page) => {
  await settledDefault(page);
  const strip = await need(page, 'backlog-master', "the master's backlog strip");
  const window = await need(page, 'backlog-window-master', "the master's backlog window text");
  assert(/\d/.test((await window.textContent()) ?? ''), `the backlog window should give offsets: ${JSON.stringify(await window.textContent())}`);
  assert(await strip.isVisible(), 'the backlog strip is visible');
  await need(page, 'offset-chart', 'the offsets chart');
  for (const n of ['master', 'r1', 'r2']) {
    const line = await need(page, `chart-line-${n}`, `the chart's line for ${n}`);
    assert(((await line.getAttribute('d')) ?? '').length > 10, `chart-line-${n} has no path data`);
  }
  await selectNode(page, 'r1');
  await click(page, 'act-crash', "the node panel's Crash action");
  await setSpeed(page, 1);
  await setPlaying(page, true);
  await need(page, 'chart-fault', "the chart's fault mark", 5000);
});

test('inspector: a message dot opens its bytes, Close closes it', async (page) => {
  await setSpeed(page, 1);
  await eventually('time past 2 s (the write load is on)', async () => (await timeMs(page)) >= 2000, 15_000);
  await setSpeed(page, 0.1);
  const dot = byId(page, 'message').locator('circle');
  await eventually('a message dot in flight', async () => (await dot.count()) > 0, 10_000);
  // Paused, there may be no dot at that moment (a light load leaves gaps): play on a little
  // until one is there.
  await setPlaying(page, false);
  await eventually('a message dot while paused', async () => {
    if ((await dot.count()) > 0) return true;
    await setPlaying(page, true);
    await sleep(150);
    await setPlaying(page, false);
    return (await dot.count()) > 0;
  }, 15_000);
  await dot.first().dispatchEvent('click');
  const panel = await need(page, 'inspector', 'the message inspector');
  await eventually('the inspector to be visible', () => panel.isVisible(), 2000);
  const bytes = await need(page, 'inspector-bytes', "the inspector's RESP bytes");
  assert(((await bytes.textContent()) ?? '').trim().length > 0, 'the inspector shows no bytes');
  await click(page, 'inspector-close', "the inspector's Close button");
  await eventually('the inspector to close', async () => (await byId(page, 'inspector').count()) === 0 || !(await byId(page, 'inspector').first().isVisible()), 2000);
});

test('narration: the step text follows Next and Previous (which move the time)', async (page) => {
  await setPlaying(page, false);
  await seekTo(page, 0);
  const text = await need(page, 'narration-text', 'the narration text');
  const t0 = (await text.textContent()).trim();
  await click(page, 'narration-next', "the narration's Next button");
  await eventually('the narration to move to the next step', async () => (await text.textContent()).trim() !== t0 && (await timeMs(page)) > 0, 3000);
  const t1 = (await text.textContent()).trim();
  const at1 = await timeMs(page);
  assert(t1.length > 0, 'the next step has text');
  await click(page, 'narration-prev', "the narration's Previous button");
  await eventually('Previous to go back', async () => (await timeMs(page)) < at1, 3000);
  assertEqual((await text.textContent()).trim(), t0, 'the narration text after Previous');
});

test('scrubber: going back shows the same state as before', async (page) => {
  await setSpeed(page, 10);
  await setPlaying(page, true);
  await eventually('time past 4 s', async () => (await timeMs(page)) >= 4000, 15_000);
  await setPlaying(page, false);
  const t1 = await timeMs(page);
  await sleep(100);
  const at1 = await allNodeTexts(page);
  // The clock says "now / computed so far": only the first part goes back.
  const clockNow = async () => ((await byId(page, 'clock').textContent()) ?? '').split('/')[0].trim();
  const clock1 = await clockNow();
  await setPlaying(page, true);
  await eventually('time past t1 + 4 s', async () => (await timeMs(page)) >= t1 + 4000, 15_000);
  await setPlaying(page, false);
  const later = await allNodeTexts(page);
  assert(JSON.stringify(later) !== JSON.stringify(at1), 'the node boxes should change in 4 s under load');
  await seekTo(page, t1);
  await sleep(100);
  assertEqual(await allNodeTexts(page), at1, `node boxes after seeking back to ${t1} ms`);
  assertEqual(await clockNow(), clock1, 'clock after seeking back');
  // And forward again to where we were: same as computed the first time.
  await seekTo(page, t1 + 4000);
});

test('keyboard: Tab to play and toggle it with Space and Enter', async (page) => {
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await tabTo(page, 'play');
  const p0 = await isPlaying(page);
  await page.keyboard.press('Space');
  await sleep(200);
  assertEqual(await isPlaying(page), !p0, 'playing after Space on the focused play button (toggled exactly once)');
  await page.keyboard.press('Enter');
  await sleep(200);
  assertEqual(await isPlaying(page), p0, 'playing after Enter on the focused play button');
});

test('keyboard: shortcuts — Space plays/pauses, ArrowRight steps, ArrowLeft goes back 1 s', async (page) => {
  await setSpeed(page, 1);
  await eventually('time past 2.5 s', async () => (await timeMs(page)) >= 2500, 15_000);
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await page.evaluate(() => document.activeElement?.blur());
  const p0 = await isPlaying(page);
  await page.keyboard.press('Space');
  await eventually('Space to toggle play/pause (shortcut)', async () => (await isPlaying(page)) !== p0, 1000);
  if (await isPlaying(page)) {
    await page.keyboard.press('Space');
    await eventually('Space to pause', async () => !(await isPlaying(page)), 1000);
  }
  const t0 = await timeMs(page);
  await page.keyboard.press('ArrowRight');
  await eventually(`ArrowRight to step forward from ${t0} ms`, async () => (await timeMs(page)) > t0, 2000);
  assert(!(await isPlaying(page)), 'stepping leaves the page paused');
  const t1 = await timeMs(page);
  await page.keyboard.press('ArrowLeft');
  await eventually(`ArrowLeft to go back 1 s from ${t1} ms (now ${await timeMs(page)})`, async () => (await timeMs(page)) === Math.max(0, t1 - 1000), 2000);
});

/** Presses Tab until the element with data-testid `id` has the focus. */
async function tabTo(page, id, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((x) => document.activeElement?.getAttribute('data-testid') === x, id)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached [data-testid="${id}"] in ${max} presses`);
}

test('keyboard: ? opens the help overlay (focus moves into it) and Escape closes it', async (page) => {
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await tabTo(page, 'play');
  await page.keyboard.press('?');
  try {
    await byId(page, 'help').first().waitFor({ state: 'visible', timeout: COMPONENT_WAIT_MS });
  } catch {
    throw new Error(`missing component: pressing ? showed no visible [data-testid="help"] (the keyboard help overlay) after ${COMPONENT_WAIT_MS} ms`);
  }
  // A modal dialog takes the focus, or keyboard users go on tabbing through the page behind it.
  const inside = await eventually('the focus to move into the help dialog', () =>
    page.evaluate(() => Boolean(document.activeElement?.closest('[data-testid="help"]'))), 1000,
  ).catch(async () => {
    const at = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 100));
    throw new Error(`the help dialog opened but the focus stayed behind it, on ${at}`);
  });
  assert(inside, 'focus inside the help dialog');
  await page.keyboard.press('Escape');
  await eventually('the help overlay to close', async () => !(await byId(page, 'help').first().isVisible().catch(() => false)), 2000);
});

test('keyboard: arrow keys on the focused timeline step and go back 1 s', async (page) => {
  await setSpeed(page, 1);
  await eventually('time past 2.5 s', async () => (await timeMs(page)) >= 2500, 15_000);
  await setPlaying(page, false);
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await tabTo(page, 'timeline');
  const t0 = await timeMs(page);
  await page.keyboard.press('ArrowLeft');
  await eventually(`ArrowLeft on the timeline to go back 1 s from ${t0}`, async () => (await timeMs(page)) === t0 - 1000, 2000);
  await page.keyboard.press('ArrowRight');
  await eventually('ArrowRight on the timeline to step forward', async () => (await timeMs(page)) > t0 - 1000, 2000);
  assert(!(await isPlaying(page)), 'still paused after stepping');
});

test('keyboard: + and - change the speed', async (page) => {
  await setSpeed(page, 1);
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press('+');
  await eventually('+ to go faster than 1×', async () => Number(await byId(page, 'speed').inputValue()) > 1, 1000);
  await page.keyboard.press('-');
  await page.keyboard.press('-');
  await eventually('- - to go slower than 1×', async () => Number(await byId(page, 'speed').inputValue()) < 1, 1000);
});

test('keyboard: Tab to a node box and Enter selects it', async (page) => {
  await setPlaying(page, false);
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await tabTo(page, 'node-r2', 80);
  await page.keyboard.press('Enter');
  await eventually('node-r2 selected', async () => /\bselected\b/.test((await byId(page, 'node-r2').first().getAttribute('class')) ?? ''), 2000);
});

test('no errors while playing every preset for 2 s of virtual time each at speed 10', async (page) => {
  for (const name of Array.isArray(PRESETS_FOR_TESTS) ? PRESETS_FOR_TESTS : []) {
    await pickPreset(page, name);
    await setSpeed(page, 10);
    await eventually(`${name}: 2 s of virtual time`, async () => (await timeMs(page)) >= 2000, 20_000);
  }
});

// ---- runner ----

let server;
let browser;
let BASE_URL;
let passed = 0;
let failed = 0;

process.on('SIGINT', () => {
  stopServer(server);
  process.exit(130);
});

/** A fresh page whose console errors and page errors are collected. */
async function openPage(url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const text = msg.text();
    if (IGNORED_CONSOLE.some((re) => re.test(text))) return;
    if (msg.type() === 'error') problems.push(`console error: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    // Chromium fetches the favicon by itself after the load event; a test navigating right
    // after cancels it (ERR_ABORTED). That is not the page failing (it failed one CI run).
    if (req.failure()?.errorText === 'net::ERR_ABORTED' && /\/favicon[^/]*$/.test(new URL(req.url()).pathname)) return;
    problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  await byId(page, 'topology').first().waitFor({ state: 'attached', timeout: 15_000 });
  return { context, page, problems };
}

function report(ok, name, lines = []) {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}`);
  for (const l of lines) for (const line of String(l).split('\n')) console.log(`#   ${line}`);
}

try {
  if (!existsSync(path.join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html not found: build the page first (npm run build:web)`);
  }
  ({ url: BASE_URL, server } = await serve(dist));
  browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });

  const filter = process.argv[2];
  for (const t of tests) {
    if (filter && !t.name.includes(filter)) continue;
    let ctx;
    const errors = [];
    try {
      ctx = await openPage(BASE_URL);
      let timer;
      await Promise.race([
        t.fn(ctx.page),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`test timed out after ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      await sleep(50);
    } catch (err) {
      errors.push(String(err?.message ?? err));
    }
    if (ctx?.problems.length) errors.push('errors on the page:', ...ctx.problems.slice(0, 10));
    report(errors.length === 0, t.name, errors);
    if (ctx) await ctx.context.close().catch(() => {});
  }
} catch (err) {
  report(false, 'set up the page', [err?.stack ?? err]);
} finally {
  if (browser) await browser.close().catch(() => {});
  stopServer(server);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
