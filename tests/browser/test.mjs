// End-to-end test of the adviser console: a resident asks for a human through the WeChat
// webhook, an adviser logs in to /console in headless Chromium, claims the conversation and
// replies, and the reply reaches (a mock of) WeChat's customer-service API.
//
//   npm install && npm test
//
// Environment:
//   LAWLINE_BIN   the server binary (default: ../../target/debug/lawline from this folder)
//   CHROMIUM      the browser (default: /usr/bin/chromium, Debian's package)
//   LAWLINE_TEST_VERBOSE=1  stream the server's log while the test runs
//
// Prints "browser: 1 passed, 0 failed" and exits 0 on success; otherwise prints
// "browser: 0 passed, 1 failed", the error and the end of the server's log, and exits 1.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const OVERALL_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 60_000;
const SEND_TIMEOUT_MS = 15_000;

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(SCRIPT_DIR, '..', '..');
const BIN = path.resolve(SCRIPT_DIR, process.env.LAWLINE_BIN || '../../target/debug/lawline');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const VERBOSE = process.env.LAWLINE_TEST_VERBOSE === '1';

const WECHAT_TOKEN = 'browser-test-token';
const RESIDENT = 'oBrowserResident1';
const ADVISER = { username: 'wang', name: '王顾问', password: 'Secret-Pass-123' };
const REPLY_TEXT = '您好，我是王顾问，请说说您的情况。';
const SCREENSHOT = '/tmp/lawline-console.png';
const SCREENSHOT_DESKTOP = '/tmp/lawline-console-desktop.png';
const SCREENSHOT_FAILURE = '/tmp/lawline-console-failure.png';

const started = Date.now();
function log(...args) {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[${t}s]`, ...args);
}
function step(name) {
  log(`--- ${name}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- resources to clean up
let mock = null; // http.Server
let server = null; // ChildProcess
let serverExit = null; // Promise<{code, signal}>
let browser = null;
let currentPage = null; // the page to photograph if the test fails
let tmpDir = null;
const serverLog = []; // last lines of the server's output
let serverLogFile = null;

function remember(chunk) {
  const text = chunk.toString();
  if (serverLogFile) fs.appendFileSync(serverLogFile, text);
  if (VERBOSE) process.stdout.write(text.replace(/^/gm, '    server| '));
  for (const line of text.split('\n')) if (line) serverLog.push(line);
  while (serverLog.length > 80) serverLog.shift();
}

async function cleanup() {
  if (browser) {
    const b = browser;
    browser = null;
    await Promise.race([b.close().catch(() => {}), sleep(5000)]);
  }
  if (server && server.exitCode === null && server.signalCode === null) {
    const s = server;
    s.kill('SIGTERM');
    const done = await Promise.race([serverExit.then(() => true), sleep(5000).then(() => false)]);
    if (!done) {
      log('server did not stop within 5 s: SIGKILL');
      s.kill('SIGKILL');
      await Promise.race([serverExit, sleep(2000)]);
    }
  }
  if (mock) {
    const m = mock;
    mock = null;
    m.closeAllConnections?.();
    await new Promise((r) => m.close(() => r()));
  }
}

let finishing = false;
async function finish(ok, err) {
  if (finishing) return;
  finishing = true;
  clearTimeout(overallTimer);
  if (!ok) {
    console.log('');
    console.log('FAILED:', err && err.stack ? err.stack : String(err));
    if (serverLog.length) {
      console.log('--- last lines of the server log' + (serverLogFile ? ` (full log: ${serverLogFile})` : ''));
      for (const line of serverLog.slice(-60)) console.log('    ' + line);
    }
    if (currentPage && browser) {
      const shot = currentPage.screenshot({ path: SCREENSHOT_FAILURE, timeout: 5000 }).then(
        () => console.log(`--- the page at the failure: ${SCREENSHOT_FAILURE}`),
        () => {},
      );
      await Promise.race([shot, sleep(6000)]);
    }
    if (sent.length) {
      console.log('--- customer-service messages the mock WeChat received:');
      for (const b of sent) console.log('    ' + JSON.stringify(b));
    }
  }
  try {
    await cleanup();
  } catch (e) {
    console.log('cleanup error:', e);
  }
  if (ok && tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  else if (tmpDir) console.log(`temporary files kept in ${tmpDir}`);
  console.log(ok ? 'browser: 1 passed, 0 failed' : 'browser: 0 passed, 1 failed');
  process.exit(ok ? 0 : 1);
}

const overallTimer = setTimeout(
  () => finish(false, new Error(`the test did not finish within ${OVERALL_TIMEOUT_MS / 1000} s`)),
  OVERALL_TIMEOUT_MS,
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => finish(false, new Error(`interrupted (${sig})`)));
process.on('unhandledRejection', (e) => finish(false, e));

// ---------------------------------------------------------------- mock WeChat API
const sent = []; // bodies of message/custom/send
const calls = []; // "METHOD /path" of every call

function startMockWechat() {
  const json = (res, status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://mock');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        body = raw;
      }
      calls.push(`${req.method} ${url.pathname}`);
      if (req.method !== 'POST') return json(res, 405, { errcode: -1, errmsg: 'method not allowed' });
      if (url.pathname === '/cgi-bin/stable_token') {
        log('mock WeChat: stable_token');
        return json(res, 200, { access_token: 'TOKEN-1', expires_in: 7200 });
      }
      const token = url.searchParams.get('access_token');
      if (token !== 'TOKEN-1') {
        log(`mock WeChat: ${url.pathname} with a wrong access_token`);
        return json(res, 200, { errcode: 40001, errmsg: 'invalid credential' });
      }
      if (url.pathname === '/cgi-bin/message/custom/send') {
        sent.push(body);
        const text = body && body.text ? body.text.content : JSON.stringify(body);
        log(`mock WeChat: custom/send to ${body && body.touser}: ${JSON.stringify(text)}`);
        return json(res, 200, { errcode: 0, errmsg: 'ok' });
      }
      if (url.pathname === '/cgi-bin/message/custom/typing' || url.pathname === '/cgi-bin/message/template/send') {
        return json(res, 200, { errcode: 0, errmsg: 'ok', msgid: 1 });
      }
      log(`mock WeChat: unexpected ${req.method} ${url.pathname}`);
      return json(res, 404, { errcode: -1, errmsg: 'not mocked' });
    });
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

// ---------------------------------------------------------------- helpers
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function runCli(args, env, stdinText, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lawline ${args.join(' ')} did not finish within ${timeoutMs / 1000} s\n${out}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.on('error', () => {}); // the program may exit before reading stdin
    child.stdin.end(stdinText ?? '');
  });
}

function signature(...parts) {
  return crypto.createHash('sha1').update(parts.slice().sort().join('')).digest('hex');
}

async function postResidentText(base, content, msgId) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(crypto.randomInt(100000000, 999999999));
  const sig = signature(WECHAT_TOKEN, timestamp, nonce);
  const xml =
    `<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[${RESIDENT}]]></FromUserName>` +
    `<CreateTime>${timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${content}]]></Content>` +
    `<MsgId>${msgId}</MsgId></xml>`;
  const url = `${base}/wechat?signature=${sig}&timestamp=${timestamp}&nonce=${nonce}&openid=${RESIDENT}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset=utf-8' },
    body: xml,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /wechat (${content}) answered ${res.status}: ${text}`);
  log(`resident sent ${JSON.stringify(content)}; passive reply: ${JSON.stringify(text.slice(0, 300))}`);
  return text;
}

async function waitFor(what, timeoutMs, probe, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

function watchPage(page, label) {
  page.on('pageerror', (e) => finish(false, new Error(`uncaught error in the ${label} page: ${e.stack || e}`)));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log(`${label} console.${m.type()}: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    log(`${label} dialog (${d.type()}): ${d.message()} → dismissed`);
    d.dismiss().catch(() => {});
  });
}

async function login(page, base) {
  await page.goto(`${base}/console`, { waitUntil: 'domcontentloaded' });
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: 10_000 });
  await page.fill('#username', ADVISER.username);
  await page.fill('#password', ADVISER.password);
  await page.click('#login-button');
  await page
    .locator('#app')
    .waitFor({ state: 'visible', timeout: 10_000 })
    .catch(async (e) => {
      const err = await page.locator('#login-error').textContent().catch(() => '');
      throw new Error(`login did not succeed (#login-error: ${JSON.stringify(err)}): ${e.message}`);
    });
  log('logged in as', JSON.stringify(await page.locator('#whoami').textContent()));
}

// ---------------------------------------------------------------- the test
async function main() {
  log(`server binary: ${BIN}`);
  log(`repository: ${REPO}`);
  log(`chromium: ${CHROMIUM}`);
  if (!fs.existsSync(BIN)) throw new Error(`no server binary at ${BIN} (build it with cargo build, or set LAWLINE_BIN)`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);

  step('1. mock WeChat API');
  mock = await startMockWechat();
  const mockPort = mock.address().port;
  log(`mock WeChat on 127.0.0.1:${mockPort}`);

  step('2. start the server');
  const port = await freePort();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lawline-browser-'));
  serverLogFile = path.join(tmpDir, 'server.log');
  const env = {
    ...process.env,
    LAWLINE_LISTEN: `127.0.0.1:${port}`,
    LAWLINE_DATABASE_URL: `sqlite://${tmpDir}/t.db`,
    LAWLINE_INDEX_DIR: `${tmpDir}/index`,
    LAWLINE_FAQ_DIR: path.join(REPO, 'faq'),
    LAWLINE_WECHAT_TOKEN: WECHAT_TOKEN,
    LAWLINE_WECHAT_APPID: 'wxbrowsertest',
    LAWLINE_WECHAT_APPSECRET: 'browser-secret',
    LAWLINE_WECHAT_API_BASE: `http://127.0.0.1:${mockPort}`,
    LAWLINE_ADMIN_TOKEN: 'admintoken',
  };
  const base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  serverExit = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
  server.on('error', (e) => finish(false, new Error(`could not start ${BIN}: ${e.message}`)));
  server.stdout.on('data', remember);
  server.stderr.on('data', remember);
  log(`server starting on ${base} (pid ${server.pid}, data in ${tmpDir})`);
  await waitFor('GET /readyz to answer 200', READY_TIMEOUT_MS, async () => {
    if (server.exitCode !== null || server.signalCode !== null) {
      const e = new Error(`the server exited early (code ${server.exitCode}, signal ${server.signalCode})`);
      e.fatal = true;
      throw e;
    }
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    return res && res.status === 200;
  });
  log('server is ready');

  step('3. create the adviser account');
  const add = await runCli(
    ['adviser', 'add', ADVISER.username, '--name', ADVISER.name, '--role', 'admin', '--password-stdin'],
    env,
    `${ADVISER.password}\n`,
  );
  if (add.code !== 0) throw new Error(`lawline adviser add exited with ${add.code}:\n${add.out}`);
  log(`adviser ${ADVISER.username} created${add.out.trim() ? `: ${add.out.trim()}` : ''}`);

  step('4. the resident asks for a human');
  const first = await postResidentText(base, '转人工', 9900001);
  // The bot may ask for the resident's village, in the passive reply or in a follow-up message.
  await sleep(1500);
  const askedVillage =
    first.includes('村') || sent.some((b) => b && b.touser === RESIDENT && JSON.stringify(b).includes('村'));
  if (askedVillage) {
    log('the bot asked for the village: skipping it');
    await postResidentText(base, '跳过', 9900002);
  }

  step('5. the adviser answers in the console (phone-sized screen)');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  log(`chromium ${browser.version()} launched`);

  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
  phone.setDefaultTimeout(15_000);
  const page = await phone.newPage();
  watchPage(page, 'phone');
  currentPage = page;
  await login(page, base);

  const item = page.locator('#queue li.handoff').first();
  await item.waitFor({ state: 'visible', timeout: 20_000 }).catch((e) => {
    throw new Error(`no waiting conversation appeared in #queue: ${e.message}`);
  });
  const handoffId = await item.getAttribute('data-id');
  log(`waiting conversation ${handoffId}: ${JSON.stringify((await item.innerText()).replace(/\s+/g, ' '))}`);
  log(`badge: ${await page.locator('#badge').textContent()}, title: ${JSON.stringify(await page.title())}`);

  await item.locator('button.claim').click();
  log('claimed');
  await page
    .locator('#messages li.msg.in', { hasText: '转人工' })
    .first()
    .waitFor({ state: 'visible', timeout: 15_000 })
    .catch((e) => {
      throw new Error(`the resident's message "转人工" did not appear in #messages: ${e.message}`);
    });
  log('the conversation shows the resident\'s message');

  await page.fill('#reply-text', REPLY_TEXT);
  await page.click('#reply-send');
  log('reply sent from the page');

  const delivered = await waitFor(
    'the mock WeChat to receive the reply by custom/send',
    SEND_TIMEOUT_MS,
    async () =>
      sent.find(
        (b) => b && b.touser === RESIDENT && b.text && typeof b.text.content === 'string' && b.text.content === REPLY_TEXT,
      ),
  );
  log(`delivered to WeChat: ${JSON.stringify(delivered)}`);
  log(`page status line: ${JSON.stringify(await page.locator('#status').textContent())}`);
  await page.screenshot({ path: SCREENSHOT, fullPage: false });
  log(`screenshot: ${SCREENSHOT}`);

  step('6. the same conversation on a desktop screen');
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  desktop.setDefaultTimeout(15_000);
  const page2 = await desktop.newPage();
  watchPage(page2, 'desktop');
  currentPage = page2;
  await login(page2, base);
  const mine = page2.locator(`#active li.handoff[data-id="${handoffId}"]`);
  await mine.waitFor({ state: 'visible', timeout: 10_000 }).catch((e) => {
    throw new Error(`the claimed conversation is not among the adviser's active ones: ${e.message}`);
  });
  await mine.locator('button.open').click();
  await page2
    .locator('#messages li.msg.out', { hasText: REPLY_TEXT })
    .first()
    .waitFor({ state: 'visible', timeout: 10_000 })
    .catch((e) => {
      throw new Error(`the adviser's reply is not in the conversation's history: ${e.message}`);
    });
  log('the desktop view shows the conversation with the adviser\'s reply');
  await page2.screenshot({ path: SCREENSHOT_DESKTOP });
  log(`screenshot: ${SCREENSHOT_DESKTOP}`);
}

main().then(
  () => finish(true),
  (e) => finish(false, e),
);
