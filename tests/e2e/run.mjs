// End-to-end checks of the built page in Debian's Chromium, with playwright-core's library
// API (no test runner, no browser download).
//
//   node tests/e2e/run.mjs            # serves ./dist (or $DIST) on a free 127.0.0.1 port
//
// Prints `ok - name` / `not ok - name` per test and ends with `N passed, N failed`;
// exits non-zero on any failure. Build first: see README / package.json "build:web".

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = process.env.DIST ? path.resolve(process.env.DIST) : path.join(repoRoot, 'dist');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const PROMPT = '127.0.0.1:6379>';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`server at ${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `fn` until it returns a truthy value; throws with `what` and the last value. */
async function eventually(what, fn, ms = 5000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function assertEqual(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

// ---- page helpers ----

const replies = (page) => page.getByTestId('console-reply');
const commands = (page) => page.getByTestId('console-command');

async function lastText(locator) {
  const n = await locator.count();
  if (n === 0) return null;
  return (await locator.nth(n - 1).textContent()).replace(/\n$/, '');
}

/** Types a command, presses Enter and returns redis-cli's output for it. */
async function run(page, line) {
  const before = await replies(page).count();
  const input = page.getByTestId('console-input');
  await input.fill(line);
  await input.press('Enter');
  await eventually(`the reply to ${line}`, async () => (await replies(page).count()) > before);
  return lastText(replies(page));
}

// ---- the tests ----

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('page title is ReplScope', async (page) => {
  assertEqual(await page.title(), 'ReplScope', 'title');
  await eventually('the console input', () => page.getByTestId('console-input').isVisible());
});

test('SET greeting hello replies OK', async (page) => {
  assertEqual(await run(page, 'SET greeting hello'), 'OK', 'reply');
  const echoed = await lastText(commands(page));
  assertEqual(echoed.replace(/\s+/g, ' '), `${PROMPT} SET greeting hello`, 'echoed command');
});

test('GET greeting replies "hello"', async (page) => {
  assertEqual(await run(page, 'GET greeting'), '"hello"', 'reply');
});

test('ArrowUp and ArrowDown walk the history', async (page) => {
  const input = page.getByTestId('console-input');
  await input.fill('');
  await input.press('ArrowUp');
  assertEqual(await input.inputValue(), 'GET greeting', 'first ArrowUp');
  await input.press('ArrowUp');
  assertEqual(await input.inputValue(), 'SET greeting hello', 'second ArrowUp');
  await input.press('ArrowDown');
  assertEqual(await input.inputValue(), 'GET greeting', 'ArrowDown');
  await input.press('ArrowDown');
  assertEqual(await input.inputValue(), '', 'back to the empty line');
});

test('an unknown command renders as (error) ERR unknown command', async (page) => {
  const reply = await run(page, 'NOSUCHCMD foo');
  assertEqual(reply, "(error) ERR unknown command 'NOSUCHCMD', with args beginning with: 'foo' ", 'reply');
  const cls = await replies(page).last().locator('span').first().getAttribute('class');
  assertEqual(cls, 'line-error', 'error styling');
});

test('markup in a key name is shown as text, never as an element', async (page) => {
  const key = '<img src=x onerror=alert(1)>';
  let dialogs = 0;
  page.on('dialog', (d) => {
    dialogs += 1;
    d.dismiss().catch(() => {});
  });
  assertEqual(await run(page, `SET "${key}" v`), 'OK', 'SET reply');
  assertEqual(await run(page, `GET "${key}"`), '"v"', 'GET reply');
  const echoed = await lastText(commands(page));
  if (!echoed.includes(`GET "${key}"`)) throw new Error(`echo lost the markup text: ${JSON.stringify(echoed)}`);
  const keys = await run(page, 'KEYS *');
  if (!keys.split('\n').some((l) => l.endsWith(`"${key}"`))) {
    throw new Error(`KEYS output does not list the key as text: ${JSON.stringify(keys)}`);
  }
  assertEqual(await page.locator('img').count(), 0, 'img elements on the page');
  assertEqual(await page.getByTestId('console-output').locator('img, script, iframe').count(), 0, 'elements in output');
  await page.waitForTimeout(100);
  assertEqual(dialogs, 0, 'dialogs opened');
});

test('unbalanced quotes print Invalid argument(s)', async (page) => {
  assertEqual(await run(page, 'SET "oops'), 'Invalid argument(s)', 'reply');
});

test('MULTI/EXEC prints a nested array and the (TX) prompt', async (page) => {
  assertEqual(await run(page, 'MULTI'), 'OK', 'MULTI');
  const prompt = await page.getByTestId('console-prompt').textContent();
  assertEqual(prompt.trim(), '127.0.0.1:6379(TX)>', 'prompt in a transaction');
  await run(page, 'RPUSH l a b');
  await run(page, 'LRANGE l 0 -1');
  assertEqual(await run(page, 'EXEC'), '1) (integer) 2\n2) 1) "a"\n   2) "b"', 'EXEC reply');
});

test('DEBUG SLEEP blocks, shows the wait, then replies OK', async (page) => {
  const input = page.getByTestId('console-input');
  const before = await replies(page).count();
  await input.fill('DEBUG SLEEP 0.5');
  const started = Date.now();
  await input.press('Enter');
  await eventually('the pending indicator', () => page.getByTestId('pending-indicator').isVisible(), 2000);
  await eventually('the reply after the sleep', async () => (await replies(page).count()) > before, 5000);
  const waited = Date.now() - started;
  assertEqual(await lastText(replies(page)), 'OK', 'reply');
  if (waited < 450) throw new Error(`the reply came after ${waited} ms, before the sleep ended`);
  assertEqual(await page.getByTestId('pending-indicator').count(), 0, 'pending indicator after the reply');
});

test('Ctrl-C stops a running command and the next one reconnects', async (page) => {
  const input = page.getByTestId('console-input');
  await input.fill('DEBUG SLEEP 0.4');
  await input.press('Enter');
  await eventually('the pending indicator', () => page.getByTestId('pending-indicator').isVisible(), 2000);
  await input.press('Control+c');
  await eventually('the indicator to go', async () => (await page.getByTestId('pending-indicator').count()) === 0);
  assertEqual((await page.getByTestId('console-prompt').textContent()).trim(), 'not connected>', 'prompt');
  // The server is still asleep: the new session's PING is answered when the sleep ends.
  assertEqual(await run(page, 'PING'), 'PONG', 'PING after Ctrl-C');
  assertEqual((await page.getByTestId('console-prompt').textContent()).trim(), PROMPT, 'prompt');
});

test('SYNC enters replica output mode until stopped', async (page) => {
  const input = page.getByTestId('console-input');
  await input.fill('SYNC');
  await input.press('Enter');
  await eventually(
    'the end of the full sync',
    async () => (await page.getByTestId('console-output').textContent()).includes('SYNC done. Logging commands from master.'),
    8000,
  );
  const text = await page.getByTestId('console-output').textContent();
  if (!text.includes('Entering replica output mode...  (press Ctrl-C to quit)')) {
    throw new Error('no "Entering replica output mode" line');
  }
  if (!/SYNC with master, discarding \d+ bytes of bulk transfer\.\.\./.test(text)) {
    throw new Error('no "discarding N bytes" line');
  }
  await page.getByTestId('interrupt').click();
  await eventually('the indicator to go', async () => (await page.getByTestId('pending-indicator').count()) === 0);
  assertEqual(await run(page, 'PING'), 'PONG', 'PING after leaving replica mode');
});

test('the active expire cycle removes keys on its own', async (page) => {
  const keysBefore = Number((await run(page, 'DBSIZE')).replace('(integer) ', ''));
  assertEqual(await run(page, 'SET shortlived x PX 150'), 'OK', 'SET PX');
  assertEqual(await run(page, 'DBSIZE'), `(integer) ${keysBefore + 1}`, 'DBSIZE with the key');
  // DBSIZE counts expired keys until they are deleted: only the timer-driven cycle does it.
  await page.waitForTimeout(900);
  assertEqual(await run(page, 'DBSIZE'), `(integer) ${keysBefore}`, 'DBSIZE after expiry');
  await eventually('the facts panel', async () =>
    (await page.getByTestId('fact-keys').textContent()).startsWith(String(keysBefore)),
  );
});

test('REPLICAOF a missing master is refused and logged, then undone', async (page) => {
  const role = page.getByTestId('fact-role');
  assertEqual((await role.textContent()).trim(), 'master', 'role before');
  const replication = page.getByTestId('fact-replication');
  const before = (await replication.textContent()).trim();
  assertEqual(await run(page, 'REPLICAOF 127.0.0.1 7000'), 'OK', 'REPLICAOF');
  await eventually('the role fact to follow REPLICAOF', async () =>
    (await role.textContent()).trim().startsWith('replica of 127.0.0.1:7000'),
  );
  const log = page.getByTestId('server-log');
  await eventually('the connection attempt in the server log', async () => {
    const text = await log.textContent();
    return text.includes('Connecting to MASTER 127.0.0.1:7000') && text.includes('Connection refused');
  });
  assertEqual(await run(page, 'REPLICAOF NO ONE'), 'OK', 'REPLICAOF NO ONE');
  await eventually('the role fact back to master with a new replication ID', async () =>
    (await role.textContent()).trim() === 'master' && (await replication.textContent()).trim() !== before,
  );
  assertEqual(await run(page, 'SET after-replicaof 1'), 'OK', 'writes accepted again');
});

test('SHUTDOWN stops the node and a new one can be started', async (page) => {
  const input = page.getByTestId('console-input');
  await input.fill('SHUTDOWN NOSAVE');
  await input.press('Enter');
  await eventually('the not connected prompt', async () =>
    (await page.getByTestId('console-prompt').textContent()).trim() === 'not connected>',
  );
  assertEqual((await page.getByTestId('fact-status').textContent()).trim(), 'stopped', 'status');
  assertEqual(
    await run(page, 'PING'),
    'Could not connect to Redis at 127.0.0.1:6379: Connection refused',
    'PING to a stopped node',
  );
  await page.getByTestId('restart-node').click();
  assertEqual(await run(page, 'PING'), 'PONG', 'PING to the new node');
  assertEqual(await run(page, 'GET greeting'), '(nil)', 'the new node is empty');
});

// ---- runner ----

let server;
let browser;
let passed = 0;
let failed = 0;
const problems = [];

function stopServer() {
  if (server && server.exitCode === null && server.pid) {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

process.on('SIGINT', () => {
  stopServer();
  process.exit(130);
});

try {
  if (!existsSync(path.join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html not found: build the page first (npm run build:web)`);
  }
  const port = await freePort();
  server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dist], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serverLog = '';
  server.stderr.on('data', (d) => {
    serverLog = (serverLog + d).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}/`;
  await waitForServer(url, 10_000);

  browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  await page.goto(url, { waitUntil: 'load' });

  let pageBroken = false;
  for (const t of tests) {
    if (pageBroken) {
      failed += 1;
      console.log(`not ok - ${t.name}`);
      console.log('#   not run: the page did not load');
      continue;
    }
    try {
      await t.fn(page);
      passed += 1;
      console.log(`ok - ${t.name}`);
    } catch (err) {
      failed += 1;
      console.log(`not ok - ${t.name}`);
      for (const line of String(err?.message ?? err).split('\n')) console.log(`#   ${line}`);
      if (t === tests[0]) pageBroken = true;
    }
  }

  const name = 'no console errors and no page errors';
  if (problems.length === 0) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}`);
    for (const p of problems) console.log(`#   ${p}`);
  }
} catch (err) {
  failed += 1;
  console.log('not ok - set up the page');
  for (const line of String(err?.stack ?? err).split('\n')) console.log(`#   ${line}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  stopServer();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
