// Lacquer browser demo: camera -> 640x480 WebP frames -> `lacquer serve` over a WebSocket
// (docs/protocol.md, encoding 1: a process_frame header, then the image) -> the painted
// frames drawn on a canvas. Plain JavaScript, no build step; served from the binary.
'use strict';

(() => {
  const WIDTH = 640;
  const HEIGHT = 480;
  const WEBP_QUALITY = 0.75;
  const MAX_IN_FLIGHT = 2;        // frames sent and not answered yet: no queue builds up
  const REPLY_TIMEOUT_MS = 3000;  // a frame unanswered this long is given up (counted dropped)
  const MAX_BUFFERED = 1 << 20;   // bytes still in the socket's send buffer: wait
  const WINDOW = 30;              // latency medians over the last WINDOW frames
  const RECONNECT_MAX_MS = 10000;
  // What the shopper can fix; the service's suggestion is shown as is.
  const SHOPPER_CODES = new Set(['HAND_NOT_DETECTED', 'PARTIAL_HAND_DETECTED', 'LOW_LIGHT',
    'BLUR_DETECTED']);
  // A frame the service dropped to stay live: counted, not shown.
  const DROP_CODES = new Set(['PROCESSING_TIMEOUT', 'RATE_LIMITED']);

  const $ = (id) => document.getElementById(id);
  const els = {
    status: $('status'), output: $('output'), notice: $('notice'), start: $('start'),
    fps: $('fps'), latency: $('latency'), serverMs: $('server-ms'), nails: $('nails'),
    dropped: $('dropped'), form: $('design'), reference: $('reference'),
    designError: $('design-error'), video: $('camera'),
  };
  const octx = els.output.getContext('2d');
  const capture = document.createElement('canvas');
  capture.width = WIDTH;
  capture.height = HEIGHT;
  const cctx = capture.getContext('2d');

  const params = new URLSearchParams(location.search);
  const state = {
    ws: null,
    sessionId: makeId(),
    ready: false,
    generation: 0,          // bumped by every init_session (a design change)
    generationStartSeq: 1,  // the first sequence sent in the current generation
    nextSeq: 1,
    inFlight: new Map(),    // sequence -> performance.now() when sent
    pendingHeader: null,    // a processed_frame waiting for its image (the next binary)
    camera: false,
    capturing: false,
    lastSendAt: 0,
    targetFps: 25,
    mime: 'image/webp',
    drawTimes: [],
    rtts: [],
    serverMs: [],
    dropped: 0,
    framesDrawn: 0,
    framesDrawnInGeneration: 0,
    lastDrawnSeq: 0,
    lastFrame: null,
    lastError: null,
    reconnectDelay: 500,
    designTimer: 0,
  };

  function makeId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function setStatus(kind, text) {
    els.status.dataset.state = kind;
    els.status.textContent = text;
  }

  function showNotice(text, kind) {
    if (!text) {
      els.notice.hidden = true;
      return;
    }
    els.notice.textContent = text;
    els.notice.dataset.kind = kind;
    els.notice.hidden = false;
  }

  function pushWindow(list, value) {
    list.push(value);
    if (list.length > WINDOW) list.shift();
  }

  function median(list) {
    if (!list.length) return NaN;
    const s = [...list].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  }

  // ------------------------------------------------------------------ design

  function field(name) {
    return els.form.elements.namedItem(name);
  }

  // The init_session's nail_reference and config from the picker (docs/designs.md).
  function readDesign() {
    const metadata = {
      shape: field('shape').value,
      pattern: field('pattern').value,
      finish: field('finish').value,
    };
    if (field('size').value === 'custom') metadata.length = Number(field('lengthFactor').value);
    else metadata.size = field('size').value;
    if (field('ownColors').checked) {
      const n = Number(field('colorCount').value);
      metadata.colors = [];
      for (let i = 0; i < n; i++) metadata.colors.push(field('color' + i).value);
    }
    const reference = { metadata };
    const url = field('url').value.trim();
    if (url) reference.url = url;
    const config = {
      target_fps: state.targetFps,
      quality: field('quality').value,
      output_format: 'webp',
      output_quality: 75,
    };
    return { reference, config };
  }

  // Shows and hides the controls that depend on others; cheap, runs on every input.
  function syncControls() {
    const custom = field('size').value === 'custom';
    els.form.querySelector('.length').hidden = !custom;
    field('lengthOut').value = Number(field('lengthFactor').value).toFixed(1);
    const own = field('ownColors').checked;
    const n = Number(field('colorCount').value);
    for (let i = 0; i < 4; i++) field('color' + i).disabled = !own || i >= n;
    field('colorCount').disabled = !own;
    els.output.classList.toggle('mirrored', field('mirror').checked);
  }

  // A design change restarts the session on the same connection (a second init_session
  // with the same session_id, docs/protocol.md); frames in flight are given up.
  function sendInit() {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const { reference, config } = readDesign();
    state.ready = false;
    state.inFlight.clear();
    state.generation += 1;
    state.generationStartSeq = state.nextSeq;
    state.framesDrawnInGeneration = 0;
    els.designError.hidden = true;
    els.reference.hidden = true;
    ws.send(JSON.stringify({
      type: 'init_session',
      session_id: state.sessionId,
      nail_reference: reference,
      config,
      timestamp: Date.now(),
    }));
    setStatus('connecting', reference.url ? 'Loading the reference photo…' : 'Preparing your design…');
  }

  // 'input' only updates the controls (typing a URL or dragging a slider must not restart
  // the session at every step); 'change' (a choice made) restarts it, debounced.
  function onDesignChanged(ev) {
    syncControls();
    if (ev.type !== 'change' || (ev.target && ev.target.name === 'mirror')) return;
    clearTimeout(state.designTimer);
    state.designTimer = setTimeout(sendInit, 250);
  }

  // ------------------------------------------------------------------ camera and frames

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showNotice('The camera needs a secure page: open this demo over HTTPS or on localhost.',
        'error');
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { width: { ideal: WIDTH }, height: { ideal: HEIGHT }, facingMode: 'user' },
      });
      els.video.srcObject = stream;
      await els.video.play();
      state.camera = true;
      els.start.hidden = true;
    } catch (e) {
      const why = {
        NotAllowedError: 'Allow the camera to try the nails on.',
        NotFoundError: 'No camera found: connect one and try again.',
        OverconstrainedError: 'No camera found: connect one and try again.',
        NotReadableError: 'The camera is busy in another app: close it and try again.',
      };
      showNotice(why[e.name] || 'The camera could not start (' + e.name + ').', 'error');
      els.start.hidden = false;
    }
  }

  // Draws the camera into the 640x480 capture canvas, cropped to 4:3 like `cover`.
  function grabFrame() {
    const v = els.video;
    const vw = v.videoWidth;
    const vh = v.videoHeight;
    if (!vw || !vh) return false;
    const scale = Math.max(WIDTH / vw, HEIGHT / vh);
    const sw = WIDTH / scale;
    const sh = HEIGHT / scale;
    cctx.drawImage(v, (vw - sw) / 2, (vh - sh) / 2, sw, sh, 0, 0, WIDTH, HEIGHT);
    return true;
  }

  function toBlob() {
    return new Promise((resolve) => capture.toBlob(resolve, state.mime, WEBP_QUALITY));
  }

  function expireInFlight(now) {
    for (const [seq, sentAt] of state.inFlight) {
      if (now - sentAt > REPLY_TIMEOUT_MS) {
        state.inFlight.delete(seq);
        state.dropped += 1;
      }
    }
  }

  // Sends the next frame when the session is ready, fewer than MAX_IN_FLIGHT frames wait
  // for a reply and the target frame interval has passed. Called on a timer and on replies.
  async function pump() {
    if (!state.ready || !state.camera || state.capturing) return;
    const now = performance.now();
    expireInFlight(now);
    if (state.inFlight.size >= MAX_IN_FLIGHT) return;
    if (now - state.lastSendAt < 1000 / state.targetFps - 2) return;
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_BUFFERED) return;
    if (!grabFrame()) return;
    state.capturing = true;
    state.lastSendAt = now;
    try {
      const blob = await toBlob();
      if (!blob || !state.ready || ws !== state.ws || ws.readyState !== WebSocket.OPEN) return;
      if (blob.type !== 'image/webp' && state.mime === 'image/webp') {
        state.mime = 'image/jpeg';  // browsers without a WebP encoder send JPEG
      }
      const format = blob.type === 'image/webp' ? 'webp' : blob.type === 'image/png' ? 'png'
        : 'jpeg';
      const seq = state.nextSeq++;
      ws.send(JSON.stringify({
        type: 'process_frame',
        session_id: state.sessionId,
        sequence: seq,
        timestamp: Date.now(),
        frame_metadata: { width: WIDTH, height: HEIGHT, format, size_bytes: blob.size },
      }));
      ws.send(blob);
      state.inFlight.set(seq, performance.now());
    } finally {
      state.capturing = false;
    }
  }

  // ------------------------------------------------------------------ replies

  function onReady(msg) {
    state.ready = true;
    state.reconnectDelay = 500;
    setStatus('live', 'Live');
    if (msg.config && msg.config.target_fps) state.targetFps = msg.config.target_fps;
    const ref = msg.reference;
    if (ref && ref !== 'none') {
      els.reference.textContent = ref === 'fetched' || ref === 'cached'
        ? 'Reference photo loaded.' : 'The reference photo could not be used.';
      els.reference.hidden = false;
    }
    pump();
  }

  function onProcessed(msg) {
    const sentAt = state.inFlight.get(msg.sequence);
    state.inFlight.delete(msg.sequence);
    state.pendingHeader = { msg, sentAt, current: msg.sequence >= state.generationStartSeq };
    pump();
  }

  // The image that follows a processed_frame.
  function onImage(data) {
    const h = state.pendingHeader;
    state.pendingHeader = null;
    if (!h) return;
    const format = (h.msg.frame_metadata && h.msg.frame_metadata.format) || 'webp';
    createImageBitmap(new Blob([data], { type: 'image/' + format })).then((bmp) => {
      if (h.msg.sequence < state.lastDrawnSeq) {
        bmp.close();  // a newer frame was drawn already
        return;
      }
      state.lastDrawnSeq = h.msg.sequence;
      octx.drawImage(bmp, 0, 0, WIDTH, HEIGHT);
      bmp.close();
      const now = performance.now();
      state.framesDrawn += 1;
      if (h.current) state.framesDrawnInGeneration += 1;
      state.drawTimes.push(now);
      if (h.sentAt !== undefined) pushWindow(state.rtts, now - h.sentAt);
      pushWindow(state.serverMs, h.msg.processing_time_ms);
      state.lastFrame = {
        sequence: h.msg.sequence,
        generation: h.current ? state.generation : state.generation - 1,
        painted: true,
        metadata: h.msg,
      };
      const details = h.msg.problem_details || [];
      showNotice(details.length ? details[0].suggestion : '', 'hint');
    }).catch(() => { /* an undecodable reply is skipped */ });
  }

  function onError(msg) {
    const sentAt = state.inFlight.get(msg.sequence);
    if (sentAt !== undefined) {
      state.inFlight.delete(msg.sequence);
      if (!DROP_CODES.has(msg.code)) pushWindow(state.rtts, performance.now() - sentAt);
    }
    const code = msg.code;
    state.lastError = { code, message: msg.message, suggestion: msg.suggestion,
      sequence: msg.sequence };
    if (DROP_CODES.has(code)) {
      state.dropped += 1;
    } else if (SHOPPER_CODES.has(code)) {
      // Nothing painted: show the camera as it is, with what to do about it.
      if (msg.sequence >= state.generationStartSeq) {
        octx.drawImage(capture, 0, 0);
        state.lastDrawnSeq = Math.max(state.lastDrawnSeq, msg.sequence);
        state.lastFrame = { sequence: msg.sequence, generation: state.generation, painted: false,
          metadata: null };
      }
      showNotice(msg.suggestion || msg.message, 'warn');
    } else if (code === 'INVALID_DESIGN' || code === 'INVALID_CONFIG') {
      els.designError.textContent = msg.message;
      els.designError.hidden = false;
      setStatus('error', 'Design not accepted');
    } else if (code === 'REFERENCE_FETCH_FAILED') {
      els.reference.textContent = 'The reference photo could not be used: ' + msg.message;
      els.reference.hidden = false;
    } else if (!msg.recoverable) {
      setStatus('error', msg.message);  // the service closes the connection; we reconnect
    } else {
      showNotice(msg.message, 'error');
    }
    pump();
  }

  function onMessage(ev) {
    if (typeof ev.data !== 'string') {
      onImage(ev.data);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    switch (msg.type) {
      case 'session_ready': onReady(msg); break;
      case 'processed_frame': onProcessed(msg); break;
      case 'error': onError(msg); break;
      case 'stats': state.serverStats = msg; break;
      case 'close_session': setStatus('offline', 'Session ended (' + msg.reason + ')'); break;
      default: break;
    }
  }

  // ------------------------------------------------------------------ connection

  function socketUrl() {
    const u = new URL('ws/tryon', location.href);
    u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    u.search = '';
    u.hash = '';
    u.searchParams.set('session_id', state.sessionId);  // what a balancer hashes on
    const token = params.get('token');
    if (token) u.searchParams.set('token', token);
    return u.href;
  }

  function connect() {
    const ws = new WebSocket(socketUrl());
    ws.binaryType = 'arraybuffer';
    state.ws = ws;
    ws.onopen = sendInit;
    ws.onmessage = onMessage;
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;
      state.ready = false;
      state.inFlight.clear();
      state.pendingHeader = null;
      const why = ev.code === 1013 ? 'The service is busy' : ev.code === 1008
        ? 'Not authorised (add ?token=… to the address)' : 'Disconnected';
      const delay = state.reconnectDelay * (0.75 + Math.random() / 2);
      state.reconnectDelay = Math.min(state.reconnectDelay * 2, RECONNECT_MAX_MS);
      setStatus('offline', why + '; reconnecting in ' + Math.ceil(delay / 1000) + ' s…');
      setTimeout(connect, delay);
    };
  }

  // ------------------------------------------------------------------ meters

  function updateMeters() {
    const now = performance.now();
    while (state.drawTimes.length && now - state.drawTimes[0] > 2000) state.drawTimes.shift();
    const n = state.drawTimes.length;
    const fps = n >= 2 ? (n - 1) * 1000 / (state.drawTimes[n - 1] - state.drawTimes[0]) : 0;
    state.fps = now - (state.drawTimes[n - 1] || -1e9) > 1000 ? 0 : fps;
    els.fps.textContent = state.fps.toFixed(1);
    const rtt = median(state.rtts);
    els.latency.textContent = Number.isNaN(rtt) ? '–' : Math.round(rtt) + ' ms';
    const srv = median(state.serverMs);
    els.serverMs.textContent = Number.isNaN(srv) ? '–' : Math.round(srv) + ' ms';
    const f = state.lastFrame;
    els.nails.textContent = f && f.metadata && f.metadata.nails
      ? String(f.metadata.nails.filter((x) => x.visible).length) : '–';
    els.dropped.textContent = String(state.dropped);
  }

  // A read-only view of the demo's state (for people poking at it, and for the browser
  // test in tests/browser/). lastFrame.metadata is the processed_frame of the canvas'
  // current picture, so its nails[] geometry locates the painted nails in the canvas.
  window.lacquerDemo = Object.freeze({
    canvas: els.output,
    snapshot() {
      return JSON.parse(JSON.stringify({
        sessionId: state.sessionId,
        ready: state.ready,
        camera: state.camera,
        generation: state.generation,
        framesDrawn: state.framesDrawn,
        framesDrawnInGeneration: state.framesDrawnInGeneration,
        inFlight: state.inFlight.size,
        fps: state.fps || 0,
        latencyMs: median(state.rtts),
        serverMs: median(state.serverMs),
        dropped: state.dropped,
        mime: state.mime,
        lastError: state.lastError,
        lastFrame: state.lastFrame,
        notice: els.notice.hidden ? '' : els.notice.textContent,
        status: els.status.textContent,
        design: readDesign(),
      }));
    },
  });

  els.form.addEventListener('input', onDesignChanged);
  els.form.addEventListener('change', onDesignChanged);
  els.form.addEventListener('submit', (ev) => ev.preventDefault());
  els.start.addEventListener('click', startCamera);
  syncControls();
  setInterval(pump, 10);
  setInterval(updateMeters, 250);
  connect();
  startCamera();
})();
