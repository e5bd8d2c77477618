// The browser demo (web/, served by `lacquer serve` at /) in Debian's Chromium, headless,
// with a fake camera fed from ../shared/data/video frames, driven by playwright-core.
//
// Starts the real `lacquer serve` with the real models on a free loopback port and checks:
// the page and its assets are served as documented (types, caching, CSP, 304, 404, 405);
// painted frames arrive (the output canvas changes, the page reports fps > 0 and a latency);
// the nails change colour when the design changes (pixels sampled at the nail centres the
// processed_frame metadata reports); the HAND_NOT_DETECTED suggestion appears on an empty
// scene; a reference photo URL reaches the service. Screenshots go to <build>/test-output/.
//
// CTest (tests/browser/CMakeLists.txt) passes LACQUER_BIN, LQ_MODELS_DIR, LQ_SHARED_DATA,
// LQ_TEST_OUTPUT and LQ_NODE_DIR (where package.json + package-lock.json were copied; the
// test runs `npm ci` there once). By hand, from the repository root:
//   LACQUER_BIN=build/lacquer node --test tests/browser/test_demo.mjs
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync,
  rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const BIN = path.resolve(process.env.LACQUER_BIN || path.join(ROOT, 'build', 'lacquer'));
const MODELS = path.resolve(process.env.LQ_MODELS_DIR || path.join(ROOT, 'models'));
const DATA = path.resolve(process.env.LQ_SHARED_DATA || path.join(ROOT, '..', 'shared', 'data'));
const OUT = path.resolve(process.env.LQ_TEST_OUTPUT || path.join(path.dirname(BIN), 'test-output'));
const NODE_DIR = path.resolve(process.env.LQ_NODE_DIR || HERE);
const CHROMIUM = process.env.LQ_CHROMIUM || '/usr/bin/chromium';
const CONVERT = existsSync('/usr/bin/convert') ? '/usr/bin/convert' : 'convert';
// Frames take much longer under ASan/UBSan; waits scale with this.
const SLOW = process.env.LQ_SANITIZED === '1' ? 8 : 1;
const W = 640;
const H = 480;
const HAND_SUGGESTION = 'Show the back of your hand to the camera with the fingers spread';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- set-up helpers

// playwright-core from npm, installed at test time into NODE_DIR (git-ignored), never a
// browser download: the browser is Debian's /usr/bin/chromium.
function loadPlaywright() {
  const lock = JSON.parse(readFileSync(path.join(NODE_DIR, 'package-lock.json'), 'utf8'));
  const want = lock.packages['node_modules/playwright-core'].version;
  let have = null;
  try {
    have = JSON.parse(readFileSync(path.join(NODE_DIR, 'node_modules', 'playwright-core',
      'package.json'), 'utf8')).version;
  } catch { /* not installed yet */ }
  if (have !== want) {
    execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: NODE_DIR, stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
    });
  }
  return createRequire(path.join(NODE_DIR, 'package.json'))('playwright-core');
}

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

// ITU-R BT.601 limited range, 4:2:0 (chroma = mean of each 2x2 block): the I420 layout
// Chromium's file-backed fake camera reads from a y4m file.
function rgbToI420(rgb) {
  const y = Buffer.alloc(W * H);
  const u = Buffer.alloc((W / 2) * (H / 2));
  const v = Buffer.alloc((W / 2) * (H / 2));
  for (let i = 0, p = 0; i < W * H; i++, p += 3) {
    y[i] = Math.round(16 + (65.481 * rgb[p] + 128.553 * rgb[p + 1] + 24.966 * rgb[p + 2]) / 255);
  }
  for (let cy = 0; cy < H / 2; cy++) {
    for (let cx = 0; cx < W / 2; cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const p = ((2 * cy + dy) * W + 2 * cx + dx) * 3;
        r += rgb[p];
        g += rgb[p + 1];
        b += rgb[p + 2];
      }
      r /= 4;
      g /= 4;
      b /= 4;
      const o = cy * (W / 2) + cx;
      u[o] = Math.round(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
      v[o] = Math.round(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
    }
  }
  return Buffer.concat([y, u, v]);
}

// Writes a 640x480, 25 fps, 4:2:0 y4m of the given frames, each cropped (ImageMagick
// geometry) and scaled to 640x480. Chromium loops the file. Its file camera takes the 4:2:0
// colour spaces (C420, C420jpeg, C420mpeg2, or none) and refuses C422 and C444 (getUserMedia
// fails with NotFoundError); it reads the samples as BT.601 limited range.
async function makeY4m(out, files, crop) {
  const f = createWriteStream(out);
  f.write(`YUV4MPEG2 W${W} H${H} F25:1 Ip A1:1 C420jpeg\n`);
  for (const file of files) {
    const { stdout } = await run(CONVERT, [file, '-crop', crop, '+repage', '-resize',
      `${W}x${H}!`, '-depth', '8', 'rgb:-'], { encoding: 'buffer', maxBuffer: 4 * W * H });
    assert.equal(stdout.length, W * H * 3, `convert gave ${stdout.length} bytes for ${file}`);
    f.write('FRAME\n');
    if (!f.write(rgbToI420(stdout))) await new Promise((r) => f.once('drain', r));
  }
  await new Promise((resolve, reject) => f.end((err) => (err ? reject(err) : resolve())));
}

function videoFrames(name, first, count) {
  const dir = path.join(DATA, 'video', name);
  const files = readdirSync(dir).filter((n) => n.endsWith('.webp')).sort();
  assert.ok(files.length >= first + count, `not enough frames in ${dir}`);
  return files.slice(first, first + count).map((n) => path.join(dir, n));
}

class Service {
  async start(env = {}) {
    this.port = await freePort();
    this.logPath = path.join(os.tmpdir(), `lacquer-browser-${this.port}.log`);
    const log = createWriteStream(this.logPath);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
      !/^(WS_|MODEL_|LOG_|METRICS_|ENABLE_|AUTH_|FETCH_)/.test(k)));
    this.proc = spawn(BIN, ['serve'], {
      env: { ...clean, MODEL_PATH: MODELS, WS_HOST: '127.0.0.1', WS_PORT: String(this.port),
        LOG_LEVEL: 'warning', ...env },
      cwd: os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout.pipe(log);
    this.proc.stderr.pipe(log);
    this.exited = new Promise((r) => this.proc.on('exit', (code, sig) => r({ code, sig })));
    this.proc.on('error', (e) => log.write(`cannot start ${BIN}: ${e.message}\n`));
    this.url = `http://127.0.0.1:${this.port}`;
    const deadline = Date.now() + 60000 * SLOW;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`lacquer serve exited:\n${this.logs()}`);
      try {
        const r = await fetch(this.url + '/health');
        if (r.status === 200) return this;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`lacquer serve not ready:\n${this.logs()}`);
      await sleep(100);
    }
  }

  logs() {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return this.proc && this.proc.exitCode;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 30000 * SLOW);
    const { code } = await this.exited;
    clearTimeout(t);
    return code;
  }
}

// One Chromium with the given y4m as its camera, in a new empty profile.
async function openDemo(pw, y4m, url, profiles) {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'lacquer-chromium-'));
  profiles.push(profile);
  const context = await pw.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 760 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${y4m}`,
    ],
  });
  const page = context.pages()[0] || await context.newPage();
  const problems = [];
  // Every init_session the page sends, as the service receives it.
  const inits = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => {
    if (typeof f.payload === 'string' && f.payload.includes('"init_session"')) {
      inits.push(JSON.parse(f.payload));
    }
  }));
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push('console error: ' + m.text());
  });
  await page.goto(url);
  return { context, page, problems, inits };
}

function snapshot(page) {
  return page.evaluate(() => window.lacquerDemo.snapshot());
}

async function waitFor(page, what, predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs * SLOW;
  let s;
  for (;;) {
    s = await snapshot(page);
    if (predicate(s)) return s;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; page state: ${JSON.stringify(s, null, 1)}`);
    }
    await sleep(100);
  }
}

// A hash of the output canvas' pixels.
function canvasHash(page) {
  return page.evaluate(() => {
    const c = window.lacquerDemo.canvas;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261;
    for (let i = 0; i < d.length; i += 7) h = Math.imul(h ^ d[i], 16777619) >>> 0;
    return h;
  });
}

// Mean RGB of a disc at the centre of each visible nail of the frame now on the canvas.
// Reads the canvas and its processed_frame metadata in one synchronous step, so both
// belong to the same frame.
function sampleNails(page) {
  return page.evaluate(() => {
    const s = window.lacquerDemo.snapshot();
    const f = s.lastFrame;
    if (!f || !f.painted || !f.metadata || !f.metadata.nails) return null;
    const c = window.lacquerDemo.canvas;
    const img = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    const nails = [];
    for (const n of f.metadata.nails) {
      if (!n.visible) continue;
      const r = Math.max(1.5, Math.min(n.width, n.length) * 0.2);
      let sum = [0, 0, 0];
      let count = 0;
      for (let y = Math.floor(n.cy - r); y <= Math.ceil(n.cy + r); y++) {
        for (let x = Math.floor(n.cx - r); x <= Math.ceil(n.cx + r); x++) {
          if ((x - n.cx) ** 2 + (y - n.cy) ** 2 > r * r) continue;
          if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
          const p = (y * img.width + x) * 4;
          sum = [sum[0] + img.data[p], sum[1] + img.data[p + 1], sum[2] + img.data[p + 2]];
          count += 1;
        }
      }
      if (count) nails.push({ finger: n.finger, rgb: sum.map((v) => v / count) });
    }
    return { sequence: f.sequence, generation: f.generation, nails };
  });
}

// Sets design fields the way a shopper does (values, then a change event that the page
// answers with a new init_session). Returns the generation the change starts.
async function setDesign(page, values) {
  return page.evaluate((vals) => {
    const form = document.getElementById('design');
    for (const [name, value] of Object.entries(vals)) {
      const el = form.elements.namedItem(name);
      if (el.type === 'checkbox') el.checked = value;
      else el.value = value;
    }
    const before = window.lacquerDemo.snapshot().generation;
    form.elements.namedItem(Object.keys(vals)[0])
      .dispatchEvent(new Event('change', { bubbles: true }));
    return before + 1;
  }, values);
}

// Waits for painted frames of the design of generation gen showing at least 3 nails, and
// returns the nail colours of several such frames (medians per channel over all samples).
async function nailColours(page, gen) {
  await waitFor(page, `painted frames of design ${gen}`, (s) => s.generation === gen &&
    s.ready && s.framesDrawnInGeneration >= 5, 30000);
  const samples = [];
  const deadline = Date.now() + 30000 * SLOW;
  while (samples.length < 5 && Date.now() < deadline) {
    const s = await sampleNails(page);
    if (s && s.generation === gen && s.nails.length >= 3 &&
        !samples.some((x) => x.sequence === s.sequence)) samples.push(s);
    await sleep(150);
  }
  assert.ok(samples.length >= 3, `only ${samples.length} frames with 3+ painted nails`);
  const all = samples.flatMap((s) => s.nails.map((n) => n.rgb));
  const med = (i) => all.map((c) => c[i]).sort((a, b) => a - b)[Math.floor(all.length / 2)];
  return { rgb: [med(0), med(1), med(2)], nails: all.length, frames: samples.length };
}

// Pixels of the canvas painted in the green test colour (#12b83c: skin never has it), as a
// median over 5 painted frames of the design of generation gen showing 3+ nails, per nail.
async function greenArea(page, gen) {
  await waitFor(page, `painted frames of design ${gen}`, (s) => s.generation === gen &&
    s.ready && s.framesDrawnInGeneration >= 5, 30000);
  const areas = [];
  const seen = new Set();
  const deadline = Date.now() + 30000 * SLOW;
  while (areas.length < 5 && Date.now() < deadline) {
    const a = await page.evaluate(() => {
      const f = window.lacquerDemo.snapshot().lastFrame;
      if (!f || !f.painted || !f.metadata || !f.metadata.nails) return null;
      const c = window.lacquerDemo.canvas;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 1] > d[i] + 50 && d[i + 1] > d[i + 2] + 30) n += 1;
      }
      return { sequence: f.sequence, generation: f.generation,
        nails: f.metadata.nails.filter((x) => x.visible).length, n };
    });
    if (a && a.generation === gen && a.nails >= 3 && !seen.has(a.sequence)) {
      seen.add(a.sequence);
      // per visible nail: the hand moves in the clip, so frames show 3 to 5 nails
      areas.push(Math.round(a.n / a.nails));
    }
    await sleep(150);
  }
  assert.ok(areas.length >= 3, `only ${areas.length} frames with 3+ painted nails`);
  return areas.sort((a, b) => a - b)[Math.floor(areas.length / 2)];
}

// ---------------------------------------------------------------- the tests

const work = mkdtempSync(path.join(os.tmpdir(), 'lacquer-browser-'));
const profiles = [];
let pw;
let service;
let handY4m;
let emptyY4m;
let photoServer;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  assert.ok(existsSync(BIN), `no binary at ${BIN}`);
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (scripts/deps.sh --test)`);
  pw = loadPlaywright();
  // The hand: asl_hand frames 161..260 (back of the hand, 4-5 nails visible), the middle
  // of the portrait frame cropped to 4:3 (clear of the black column at its right edge).
  // The empty scene: the sky above the hand.
  handY4m = path.join(work, 'hand.y4m');
  emptyY4m = path.join(work, 'empty.y4m');
  await makeY4m(handY4m, videoFrames('asl_hand', 160, 100), '600x450+4+300');
  await makeY4m(emptyY4m, videoFrames('asl_hand', 0, 25), '400x300+0+0');
  // A reference photo on loopback (the service may fetch it: FETCH_ALLOW_PRIVATE=true).
  const { stdout: photo } = await run(CONVERT, ['-size', '96x96', 'xc:#7a1fa2', 'png:-'],
    { encoding: 'buffer' });
  photoServer = http.createServer((req, res) => {
    if (req.url !== '/polish.png') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': photo.length });
    res.end(photo);
  });
  await new Promise((r) => photoServer.listen(0, '127.0.0.1', r));
  service = await new Service().start({ FETCH_ALLOW_PRIVATE: 'true' });
});

after(async () => {
  if (photoServer) photoServer.close();
  let code = 0;
  if (service) code = await service.stop();
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  if (service) {
    const logs = service.logs();
    assert.equal(code, 0, `lacquer serve exit code ${code}:\n${logs}`);
    assert.ok(!/AddressSanitizer|runtime error/.test(logs), logs);
  }
});

describe('lacquer serve: the demo page over HTTP', () => {
  test('/, /app.js and /style.css are the files of web/, typed, cached and locked down',
    async () => {
      const files = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
      const types = { '/': 'text/html; charset=utf-8', '/app.js': 'text/javascript; charset=utf-8',
        '/style.css': 'text/css; charset=utf-8' };
      for (const [route, file] of Object.entries(files)) {
        const r = await fetch(service.url + route);
        assert.equal(r.status, 200, route);
        assert.equal(r.headers.get('content-type'), types[route], route);
        const body = Buffer.from(await r.arrayBuffer());
        assert.ok(body.equals(readFileSync(path.join(ROOT, 'web', file))),
          `${route} differs from web/${file}: rebuild to embed the current page`);
        assert.equal(r.headers.get('cache-control'), 'no-cache');
        const csp = r.headers.get('content-security-policy');
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /script-src 'self'/);
        assert.match(csp, /connect-src 'self'/);
        assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
        const etag = r.headers.get('etag');
        const sha = createHash('sha256').update(body).digest('hex').slice(0, 16);
        assert.equal(etag, `"${sha}"`);
        const again = await fetch(service.url + route, { headers: { 'if-none-match': etag } });
        assert.equal(again.status, 304, `${route} revalidation`);
        assert.equal(again.headers.get('etag'), etag);
        assert.equal((await again.arrayBuffer()).byteLength, 0);
      }
      const index = await fetch(service.url + '/index.html');
      assert.equal(index.status, 200);
    });

  test('unknown paths are 404, other methods 405, /health still JSON', async () => {
    for (const route of ['/nope', '/README.md', '/web/app.js', '/app.js.map', '/index.htm']) {
      const r = await fetch(service.url + route);
      assert.equal(r.status, 404, route);
      await r.arrayBuffer();
    }
    const post = await fetch(service.url + '/', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
    await post.arrayBuffer();
    const health = await fetch(service.url + '/health');
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'healthy');
  });
});

describe('the demo page in Chromium with a fake camera', () => {
  test('painted frames arrive, nails follow the design (colour, shape, length), the photo ' +
    'URL reaches the service',
    async () => {
      const { context, page, problems, inits } = await openDemo(pw, handY4m,
        service.url + '/', profiles);
      try {
        // painted frames arrive and the meters run
        const s = await waitFor(page, '15 painted frames', (x) => x.ready && x.camera &&
          x.framesDrawn >= 15 && x.fps > 0, 60000);
        assert.equal(s.mime, 'image/webp', 'Chromium encodes the frames as WebP');
        assert.ok(s.inFlight <= 2, `${s.inFlight} frames in flight`);
        const h1 = await canvasHash(page);
        await waitFor(page, 'more frames', (x) => x.framesDrawn >= s.framesDrawn + 5, 20000);
        const h2 = await canvasHash(page);
        assert.notEqual(h1, h2, 'the output canvas changes');
        const fpsText = await page.textContent('#fps');
        assert.ok(Number(fpsText) > 0, `fps shown: ${fpsText}`);
        assert.match(await page.textContent('#latency'), /^\d+ ms$/);
        assert.match(await page.textContent('#server-ms'), /^\d+ ms$/);
        assert.equal((await page.textContent('#status')).trim(), 'Live');

        // green, then blue: colours skin never has, sampled at the reported nail centres
        let gen = await setDesign(page, { pattern: 'solid', finish: 'cream', ownColors: true,
          colorCount: '1', color0: '#12b83c' });
        const green = await nailColours(page, gen);
        await page.screenshot({ path: path.join(OUT, 'browser_demo.png') });
        gen = await setDesign(page, { color0: '#1f3fe8' });
        const blue = await nailColours(page, gen);
        await page.screenshot({ path: path.join(OUT, 'browser_demo_blue.png') });
        const fmt = (c) => c.rgb.map(Math.round).join(',');
        console.log(`# nails green design: rgb ${fmt(green)} (${green.nails} nails in ` +
          `${green.frames} frames); blue design: rgb ${fmt(blue)}`);
        const [gr, gg, gb] = green.rgb;
        const [br, bg, bb] = blue.rgb;
        assert.ok(gg > gr + 25 && gg > gb + 10, `green nails are green: ${fmt(green)}`);
        assert.ok(bb > br + 40 && bb > bg + 20, `blue nails are blue: ${fmt(blue)}`);

        // a reference photo URL: fetched by the service, its polish colour used
        gen = await setDesign(page, { ownColors: false,
          url: `http://127.0.0.1:${photoServer.address().port}/polish.png` });
        await waitFor(page, 'the reference photo', (x) => x.generation === gen && x.ready,
          20000);
        assert.equal((await page.textContent('#reference')).trim(), 'Reference photo loaded.');
        const fromPhoto = await nailColours(page, gen);
        console.log(`# nails from the photo (#7a1fa2): rgb ${fmt(fromPhoto)}`);
        const [pr, pg, pb] = fromPhoto.rgb;
        assert.ok(pr > pg + 20 && pb > pg + 20, `purple nails from the photo: ${fmt(fromPhoto)}`);

        // shape and length: the picker's values reach the service, which paints longer
        // nails for a longer design (same colour, shape and frames; only the length changes)
        gen = await setDesign(page, { url: '', ownColors: true, colorCount: '1',
          color0: '#12b83c', pattern: 'solid', finish: 'cream', shape: 'stiletto',
          size: 'custom', lengthFactor: '0.8' });
        const short = await greenArea(page, gen);
        let sent = inits[inits.length - 1].nail_reference.metadata;
        assert.equal(sent.shape, 'stiletto');
        assert.equal(sent.length, 0.8);
        assert.equal(sent.size, undefined, 'a custom length replaces the size');
        gen = await setDesign(page, { lengthFactor: '2.2' });
        const long = await greenArea(page, gen);
        sent = inits[inits.length - 1].nail_reference.metadata;
        assert.equal(sent.length, 2.2);
        await page.screenshot({ path: path.join(OUT, 'browser_demo_long_stiletto.png') });
        console.log(`# stiletto nails, length 0.8: ${short} px painted per nail; length 2.2: ` +
          `${long} px`);
        assert.ok(long > short * 1.3, `longer nails paint more: ${short} -> ${long} px a nail`);

        const end = await snapshot(page);
        console.log(`# ${end.framesDrawn} frames drawn, ${end.fps.toFixed(1)} fps, latency ` +
          `p50 ${Math.round(end.latencyMs)} ms, server p50 ${Math.round(end.serverMs)} ms, ` +
          `${end.dropped} dropped`);
        // The page's bound on frames in flight keeps the service's queue from overflowing:
        // no frame was dropped because a newer one arrived on a full queue.
        const metrics = await (await fetch(service.url + '/metrics')).text();
        const queueFull = metrics.match(/^tryon_frames_dropped_total\{reason="queue_full"\} (\d+)/m);
        assert.ok(queueFull, 'queue_full counter in /metrics');
        assert.equal(Number(queueFull[1]), 0, 'frames dropped on a full queue');
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });

  test('an empty scene shows the HAND_NOT_DETECTED suggestion to the shopper', async () => {
    const { context, page, problems } = await openDemo(pw, emptyY4m, service.url + '/',
      profiles);
    try {
      const s = await waitFor(page, 'HAND_NOT_DETECTED', (x) => x.lastError &&
        x.lastError.code === 'HAND_NOT_DETECTED' && x.notice === HAND_SUGGESTION, 60000);
      assert.equal(s.framesDrawn, 0, 'no painted frame without a hand');
      assert.ok(await page.isVisible('#notice'));
      assert.equal((await page.textContent('#notice')).trim(), HAND_SUGGESTION);
      await page.screenshot({ path: path.join(OUT, 'browser_demo_no_hand.png') });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
