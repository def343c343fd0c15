// What every browser script here shares: Debian's Chromium with the flags that work on these
// machines, a static server for the build on a free 127.0.0.1 port, and polling helpers.

import { spawn } from 'node:child_process';
import net from 'node:net';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitForServer(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`server at ${url} did not answer within ${ms} ms`);
    await sleep(100);
  }
}

/** Serves `dir` on a free port; resolves to { url, server } once it answers. Kill `server` by PID when done. */
export async function serve(dir) {
  const port = await freePort();
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  await waitForServer(url, 10_000);
  return { url, server };
}

/** Stops a server started by `serve` (harmless if it already exited). */
export function stopServer(server) {
  if (server && server.exitCode === null && server.pid) {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/** Polls `fn` until it returns a truthy value; throws with `what` and the last value seen. */
export async function eventually(what, fn, ms = 8000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)?.slice(0, 200)})`);
    await sleep(50);
  }
}
