// The camera scanner beside a scan box (templates/includes/_scanner.html).
//
// Progressive enhancement: every scan box keeps working typed or pasted. Pressing Scan opens the
// back camera; frames are decoded in the page by zxing-wasm (ZXing C++ as WebAssembly, served
// from this site's static files), and each new code is asked about at once (data-check-url).
// The list shows each code with its answer: found, or why it cannot be used. Nothing is done
// without a tap, because a camera over an open trunk reads the neighbouring boxes too.
(() => {
  "use strict";

  const REPEAT_MS = 4000; // the same code read again within this is ignored
  const HIBC_PAIR_MS = 15000; // an HIBC secondary symbol joins the primary read this recently
  const HIBC_WAIT_MS = 1200; // how long a lone HIBC primary waits for its secondary
  const FRAME_GAP_MS = 60; // breathing room between decodes, for the page and the battery
  // The symbologies on implant and instrument labels: GS1 DataMatrix, GS1-128 and HIBC
  // (Code 128, Code 39), Digital Link QR codes, GS1 DataBar.
  // Code39Std, not Code39: the full-ASCII reading would turn HIBC's "+A" into "a".
  const FORMATS = ["DataMatrix", "QRCode", "Code128", "Code39Std", "DataBarExp", "DataBar"];
  // Symbology identifiers of GS1 data: the server's parser needs them to read the raw form.
  const GS1_IDS = new Set(["]d2", "]C1", "]Q3", "]e0", "]J1"]);

  let decoderReady = null;

  function prepareDecoder(wasmUrl) {
    if (!decoderReady) {
      const zxing = window.ZXingWASM;
      decoderReady = zxing.prepareZXingModule({
        overrides: {
          // zxing-wasm fetches its .wasm from a CDN unless told where this site serves it.
          locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path),
        },
        fireImmediately: true,
      });
    }
    return decoderReady;
  }

  // What the server is sent for one symbol: GS1 data keeps its symbology identifier (the raw
  // form carries GS separators), anything else its plain text.
  function codeOf(result) {
    const id = result.symbologyIdentifier || "";
    return GS1_IDS.has(id) ? id + result.text : result.text;
  }

  // An HIBC primary symbol on its own: "+", labeler, product, unit of measure, check character
  // (which may be "$" or "/"), and no secondary data ("/…" or "$…") before it.
  function isHibcPrimary(code) {
    return /^\+[A-Z]/.test(code) && !/[$/]/.test(code.slice(1, -1));
  }

  function tone(ok) {
    try {
      navigator.vibrate?.(ok ? 80 : [60, 60, 60]);
      const AudioContext = window.AudioContext || window.webkitAudioContext;
      if (!AudioContext) return;
      tone.context = tone.context || new AudioContext();
      const ctx = tone.context;
      const notes = ok ? [[1320, 0, 0.09]] : [[330, 0, 0.15], [220, 0.18, 0.25]];
      for (const [freq, start, length] of notes) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = freq;
        osc.type = ok ? "sine" : "square";
        gain.gain.value = 0.08;
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + start);
        osc.stop(ctx.currentTime + start + length);
      }
    } catch (_) {
      // Sound and vibration are a courtesy; the list says the same.
    }
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // A session that ended sends the request to the login page.
  function loggedOut(response) {
    if (response.redirected && new URL(response.url).pathname.startsWith("/accounts/login/")) {
      return { ok: false, message: "You were logged out. Log in again in this browser, then scan." };
    }
    return null;
  }

  // The JSON answer, or, when the server sent something else (an error page), what to do.
  async function answerOf(response) {
    if ((response.headers.get("Content-Type") || "").includes("application/json")) {
      return response.json();
    }
    return {
      ok: false,
      message: `The server could not answer (error ${response.status}). Reload the page and scan again.`,
    };
  }

  function cameraProblem(error) {
    if (!window.isSecureContext) {
      return "The camera works only on a secure (https://) address. Type or paste the code instead.";
    }
    switch (error && error.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "The camera permission was refused. Allow the camera for this site in the browser's settings, or type or paste the code instead.";
      case "NotFoundError":
      case "OverconstrainedError":
        return "No camera was found on this device. Type or paste the code instead.";
      case "NotReadableError":
        return "The camera is in use by another app. Close it and press Scan again, or type the code.";
      default:
        return "The camera could not be started. Type or paste the code instead.";
    }
  }

  class Scanner {
    constructor(panel, opener) {
      this.panel = panel;
      this.opener = opener;
      this.video = panel.querySelector("video");
      this.status = panel.querySelector(".scanner-status");
      this.list = panel.querySelector(".scanner-results");
      this.torch = panel.querySelector("[data-scanner-torch]");
      this.mode = panel.dataset.mode;
      this.target = panel.dataset.target ? document.getElementById(panel.dataset.target) : null;
      this.canvas = document.createElement("canvas");
      this.seen = new Map(); // code -> when last read
      this.hibcPrimary = null; // {code, at}: waiting for its secondary symbol
      this.added = 0;
      this.marked = 0;
      this.running = false;
      this.generation = 0; // each open or close starts a new one: late awaits see they are stale
      opener.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
      panel.querySelector("[data-scanner-close]").addEventListener("click", () => this.close(true));
      this.torch.addEventListener("click", () => this.toggleTorch());
    }

    say(text) {
      this.status.textContent = text;
    }

    async open() {
      const generation = ++this.generation;
      this.panel.hidden = false;
      // Browsers let a page make sound only after a tap: this one.
      const AudioContext = window.AudioContext || window.webkitAudioContext;
      if (AudioContext && !tone.context) tone.context = new AudioContext();
      this.opener.setAttribute("aria-expanded", "true");
      performance.mark("scanner-open");
      if (this.panel.dataset.installed !== "1" || !window.ZXingWASM) {
        this.say("The camera scanner is not installed on this server (its setup installs it). Type or paste the code instead.");
        return;
      }
      if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
        this.say(cameraProblem(null));
        return;
      }
      this.say("Starting the camera…");
      try {
        const [stream] = await Promise.all([
          navigator.mediaDevices.getUserMedia({
            audio: false,
            video: {
              facingMode: { ideal: "environment" },
              width: { ideal: 1280 },
              height: { ideal: 720 },
            },
          }),
          prepareDecoder(this.panel.dataset.wasmUrl),
        ]);
        if (generation !== this.generation) {
          stream.getTracks().forEach((track) => track.stop()); // closed while it started
          return;
        }
        this.stream = stream;
      } catch (error) {
        if (generation !== this.generation) return;
        this.say(error && error.name ? cameraProblem(error) : "The barcode reader could not load. Type or paste the code instead.");
        this.stop();
        return;
      }
      this.video.srcObject = this.stream;
      await this.video.play().catch(() => {});
      if (generation !== this.generation) return;
      const track = this.stream.getVideoTracks()[0];
      const capabilities = track.getCapabilities ? track.getCapabilities() : {};
      this.torch.hidden = !capabilities.torch;
      this.running = true;
      this.say("Point the camera at a label. Codes read are listed below.");
      this.loop(generation);
    }

    stop() {
      this.generation += 1;
      this.running = false;
      clearTimeout(this.hibcPrimary?.timer);
      this.hibcPrimary = null;
      if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
      this.stream = null;
      this.video.srcObject = null;
    }

    close(done = false) {
      this.stop();
      this.panel.hidden = true;
      this.opener.setAttribute("aria-expanded", "false");
      this.opener.focus();
      if (done && this.mode === "add" && this.added) this.submit();
      // Units marked from the list join "Used on this event": show the page as it now is.
      // (The offline page redraws itself as each mark is queued.)
      if (this.mode === "mark" && this.marked && !this.panel.answerer) window.location.reload();
    }

    async toggleTorch() {
      const track = this.stream?.getVideoTracks()[0];
      if (!track) return;
      const on = this.torch.getAttribute("aria-pressed") !== "true";
      try {
        await track.applyConstraints({ advanced: [{ torch: on }] });
        this.torch.setAttribute("aria-pressed", String(on));
        this.torch.textContent = on ? "Light off" : "Light on";
      } catch (_) {
        this.torch.hidden = true;
      }
    }

    async loop(generation) {
      while (this.running && generation === this.generation) {
        const { videoWidth: width, videoHeight: height } = this.video;
        if (width && height) {
          const frameStarted = performance.now();
          if (this.canvas.width !== width || this.canvas.height !== height) {
            this.canvas.width = width;
            this.canvas.height = height;
          }
          const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
          ctx.drawImage(this.video, 0, 0, width, height);
          const frame = ctx.getImageData(0, 0, width, height);
          const started = performance.now();
          let results = [];
          try {
            results = await window.ZXingWASM.readBarcodes(frame, {
              formats: FORMATS,
              textMode: "Plain",
              // Two: an HIBC label may print its primary and secondary data as two symbols.
              // Each further symbol sought costs a full search of the frame.
              maxNumberOfSymbols: 2,
              // Labels print dark on light; a 1280x720 frame needs no smaller copies searched.
              // Together these take the p95 per frame from about 55 ms to about 25 ms here
              // (bench_scanner), with every symbol kind of the camera tests still read.
              tryInvert: false,
              tryDownscale: false,
            });
          } catch (_) {
            results = [];
          }
          // User Timing for the benchmark (bench_scanner) and the browser's profiler; kept
          // bounded, as a scanner may stay open for a whole case.
          if (performance.getEntriesByName("scanner-frame").length > 1000) {
            performance.clearMeasures("scanner-decode");
            performance.clearMeasures("scanner-frame");
          }
          performance.measure("scanner-decode", { start: started, end: performance.now() });
          performance.measure("scanner-frame", { start: frameStarted, end: performance.now() });
          // An HIBC primary symbol before its secondary (+$…), whatever order they came in.
          const codes = results.filter((r) => r.isValid !== false && r.text).map(codeOf);
          codes.sort((a, b) => Number(a.startsWith("+$")) - Number(b.startsWith("+$")));
          for (const code of codes) this.read(code);
        }
        await new Promise((resolve) => setTimeout(resolve, FRAME_GAP_MS));
      }
    }

    read(raw) {
      const now = Date.now();
      // HIBC printed as two symbols: the primary (labeler, product) waits a moment for its
      // secondary (+$…: lot, serial, expiry) and is joined to it; alone, it is asked as is.
      if (isHibcPrimary(raw)) {
        if (this.hibcPrimary?.code === raw) {
          this.hibcPrimary.at = now;
        } else {
          clearTimeout(this.hibcPrimary?.timer);
          const timer = setTimeout(() => this.consider(raw), HIBC_WAIT_MS);
          this.hibcPrimary = { code: raw, at: now, timer };
        }
        return;
      }
      if (raw.startsWith("+$") && this.hibcPrimary && now - this.hibcPrimary.at < HIBC_PAIR_MS) {
        clearTimeout(this.hibcPrimary.timer);
        this.consider(this.hibcPrimary.code + raw);
        return;
      }
      this.consider(raw);
    }

    consider(code) {
      const now = Date.now();
      // The same data in two symbols of one label (GS1 DataMatrix and GS1-128) is one code.
      const key = code.replace(/^\][A-Za-z][0-9A-Za-z]/, "");
      const last = this.seen.get(key);
      if (last !== undefined && now - last < REPEAT_MS) return;
      if (this.seen.size > 500) this.seen.clear();
      this.seen.set(key, now);
      // Listed once: a code already answered stays as it is; one the server could not be
      // asked about (no signal) is asked again, in the same place.
      const listed = this.list.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (listed && listed.dataset.state !== "unanswered") return;
      this.check(code, listed);
    }

    async check(code, item = null) {
      if (!item) {
        item = document.createElement("li");
        item.className = "list-group-item scanner-item";
        item.dataset.code = code;
        item.dataset.key = code.replace(/^\][A-Za-z][0-9A-Za-z]/, "");
        const text = document.createElement("div");
        text.className = "scanner-code font-monospace small text-break";
        text.textContent = code.replace(/\x1d/g, "<GS>");
        const answer = document.createElement("div");
        answer.className = "scanner-answer";
        item.append(answer, text);
        this.list.prepend(item);
      }
      const answer = item.querySelector(".scanner-answer");
      item.dataset.state = "checking";
      answer.textContent = "Checking…";
      let body;
      try {
        // The offline page answers from the phone's own copy (static/js/offline/shell.js).
        if (this.panel.answerer) {
          body = await this.panel.answerer.check(code);
          this.show(item, answer, body);
          tone(body.ok);
          return;
        }
        const url = new URL(this.panel.dataset.checkUrl, window.location.href);
        url.searchParams.set("code", code);
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        body = loggedOut(response) || (await answerOf(response));
      } catch (_) {
        body = {
          ok: false,
          unanswered: true,
          message: "No answer from the server (no signal?). It is asked again while the camera still sees it.",
        };
      }
      this.show(item, answer, body);
      if (body.unanswered) item.dataset.state = "unanswered";
      if (!performance.getEntriesByName("scanner-first-listed").length) {
        performance.mark("scanner-first-listed");
      }
      tone(body.ok);
    }

    show(item, answer, body) {
      item.dataset.state = body.ok ? "found" : "refused";
      item.classList.toggle("list-group-item-danger", !body.ok);
      answer.replaceChildren();
      if (body.unit) {
        const title = document.createElement("strong");
        title.textContent = body.unit.title;
        const detail = document.createElement("div");
        detail.textContent = body.unit.detail;
        answer.append(title, detail);
        if (body.unit.custody) {
          const custody = document.createElement("span");
          custody.className = `${body.unit.custody_css || ""} small`;
          custody.textContent = body.unit.custody;
          answer.append(custody);
        }
      }
      if (body.message) {
        const message = document.createElement("div");
        message.className = body.ok ? "" : "fw-semibold";
        message.textContent = body.ok ? body.message : `Cannot use: ${body.message}`;
        answer.append(message);
      }
      for (const note of body.notes || []) {
        const div = document.createElement("div");
        div.className = "small text-muted";
        div.textContent = note;
        answer.append(div);
      }
      if (body.unit?.id) item.dataset.unit = body.unit.id;
      if (body.ok) this.actions(item, answer, body);
    }

    actions(item, answer, body) {
      const row = document.createElement("div");
      row.className = "d-flex gap-2 mt-2 flex-wrap";
      const button = (label, handler, css = "btn-primary", what = "") => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = `btn ${css}`;
        b.textContent = label;
        if (what) b.setAttribute("aria-label", `${label}: ${what}`);
        b.addEventListener("click", () => handler(b));
        row.append(b);
        return b;
      };
      const link = (label, href, css = "btn-outline-primary") => {
        const a = document.createElement("a");
        a.className = `btn ${css}`;
        a.href = href;
        a.textContent = label;
        row.append(a);
      };
      const code = item.dataset.code;
      if (this.mode === "mark" && body.can_mark) {
        button("Mark used", (b) => this.mark(item, answer, b), "btn-primary", body.unit?.detail);
      } else if (this.mode === "add" && this.target) {
        button("Add", (b) => {
          // Only line breaks are trimmed: a space can be an HIBC label's check character.
          const before = this.target.value.replace(/[\r\n]+$/, "");
          this.target.value = before + (before ? "\n" : "") + code;
          this.added += 1;
          b.disabled = true;
          b.textContent = "Added";
          item.dataset.state = "added";
          this.say(`${this.added} added. Press Done to add them to the form.`);
        });
      } else if (this.mode === "fill" && this.target) {
        button(this.panel.dataset.fillLabel || "Use this", () => {
          this.target.value = code;
          this.stop();
          this.submit();
        });
      }
      if (this.mode === "open") {
        if (body.unit?.url) link("Open unit", body.unit.url, "btn-primary");
        if (body.lot_url) link("Lot lookup", body.lot_url);
      }
      if (row.childElementCount) answer.append(row);
    }

    async mark(item, answer, button) {
      button.disabled = true;
      button.textContent = "Marking…";
      performance.mark("scanner-mark-tap");
      let body;
      try {
        if (this.panel.answerer) {
          body = await this.panel.answerer.mark(item.dataset.code, item.dataset.unit);
          this.markResult(item, answer, button, body);
          return;
        }
        const form = new FormData();
        form.set("code", item.dataset.code);
        form.set("unit", item.dataset.unit);
        const response = await fetch(this.panel.dataset.markUrl, {
          method: "POST",
          body: form,
          headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
          credentials: "same-origin",
        });
        body = loggedOut(response) || (await answerOf(response));
      } catch (_) {
        body = { ok: false, message: "No answer from the server: nothing was marked. Try again when you have signal." };
      }
      this.markResult(item, answer, button, body);
    }

    markResult(item, answer, button, body) {
      const result = document.createElement("div");
      result.tabIndex = -1; // focus moves here from the button it replaces
      result.className = body.ok ? "text-success fw-semibold" : "fw-semibold";
      result.textContent = body.ok ? `✓ ${body.message}` : `Not marked: ${body.message}`;
      answer.append(result);
      button.remove();
      result.focus();
      if (body.warning) {
        const warning = document.createElement("div");
        warning.className = "small";
        warning.textContent = body.warning;
        answer.append(warning);
      }
      item.dataset.state = body.ok ? "marked" : "refused";
      item.classList.toggle("list-group-item-danger", !body.ok);
      item.classList.toggle("list-group-item-success", body.ok);
      if (body.ok) {
        this.marked += 1;
        performance.mark("scanner-marked");
      }
      tone(body.ok);
    }

    submit() {
      const selector = this.panel.dataset.submit;
      const button = selector ? document.querySelector(selector) : null;
      if (button) button.click();
      else if (this.target?.form) this.target.form.requestSubmit();
    }
  }

  document.querySelectorAll("[data-scanner-open]").forEach((opener) => {
    const panel = document.getElementById(opener.dataset.scannerOpen);
    if (panel && !panel.scanner) panel.scanner = new Scanner(panel, opener);
  });
})();
