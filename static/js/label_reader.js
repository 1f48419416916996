// TrunkpoolLabel: which product and unit a scanned or typed label names, read in the browser for
// the offline pages (a page, or a service worker through importScripts) when the server cannot
// be asked. It follows inventory/udi.py parse_label and, for GS1, the biip library the server
// uses; tests/browser/test_label_reader.py holds it to the server's answer on every label of
// tests/inventory/test_labels.py. Identification only: the server reads every label again when
// the phone syncs, so what this cannot read is refused here, never guessed at.
//
//   TrunkpoolLabel.read(text) -> {ok: true, format, gtin, hibc, lot, serial, expiry,
//                                 unitOfMeasure} or {ok: false, message}
//   TrunkpoolLabel.looksLikeLabel(line) -> whether a line is a barcode's text, not typed text
(() => {
  "use strict";

  const GS = "\x1d";

  class LabelError extends Error {}
  const fail = (message) => {
    throw new LabelError(message);
  };
  const has = (table, key) => Object.prototype.hasOwnProperty.call(table, key);

  // Python's str.strip(): what Python counts as whitespace (the group separator too).
  const SPACE =
    "[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
  const STRIP = new RegExp(`^${SPACE}+|${SPACE}+$`, "g");
  const pyStrip = (text) => text.replace(STRIP, "");

  // --- dates ---------------------------------------------------------------------------------
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  const isLeap = (y) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const lastDay = (y, m) => (m === 2 ? 28 + isLeap(y) : [4, 6, 9, 11].includes(m) ? 30 : 31);

  // "YYYY-MM-DD" of a day Python's datetime.date accepts, or a refusal.
  function isoDate(y, m, d, what) {
    if (!(y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= lastDay(y, m))) {
      fail(`The ${what} is not a valid date.`);
    }
    return `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
  }

  // GS1 YYMMDD: the year within 49 years past and 50 to come, and day 00 the month's last day
  // (GS1 General Specifications 7.12).
  function gs1Date(value, what) {
    const [yy, m, d] = [0, 2, 4].map((i) => Number(value.slice(i, i + 2)));
    const now = new Date().getUTCFullYear();
    const ahead = yy - (now % 100);
    const year = now - (now % 100) + (ahead >= 51 ? -100 : ahead <= -50 ? 100 : 0) + yy;
    return isoDate(year, m, d === 0 ? lastDay(year, m) : d, what);
  }

  // --- GS1 -----------------------------------------------------------------------------------
  // The GS1 fields this reader knows, as biip checks them: those of device labels. A label with
  // another field is refused (the server reads it at sync), so nothing accepted here can read
  // otherwise there.
  const X = '[!"%-?A-Z_a-z]'; // GS1 character set 82
  const DATE = "\\d{2}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01])";
  const FIELDS = { "01": "\\d{14}", 30: "\\d{0,8}", 37: "\\d{1,8}", 235: `${X}{1,28}` };
  const DATE_AIS = ["11", "12", "13", "15", "16", "17"];
  for (const ai of DATE_AIS) FIELDS[ai] = DATE;
  for (const ai of ["10", "21", "22"]) FIELDS[ai] = `${X}{1,20}`;
  for (const ai of ["240", "241", "250", "251", "90"]) FIELDS[ai] = `${X}{1,30}`;
  for (let ai = 91; ai <= 99; ai++) FIELDS[ai] = `${X}{1,90}`; // internal fields

  const unknownField = (ai) =>
    fail(`That barcode has a GS1 field (${ai}) this page cannot read offline: scan it online.`);

  // One element string whose value is all of `value` (the HRI and Digital Link forms).
  function element(ai, value) {
    if (!has(FIELDS, ai)) unknownField(ai);
    if (!new RegExp(`^(?:${FIELDS[ai]})$`).test(value)) fail(`GS1 field (${ai}) is not valid.`);
    return [ai, value];
  }

  function gtinCheckDigit(body) {
    const total = [...body].reverse().reduce((sum, d, i) => sum + Number(d) * (i % 2 ? 1 : 3), 0);
    return (10 - (total % 10)) % 10;
  }

  function fromElements(format, elements) {
    const values = {};
    let expiry = "";
    for (const [ai, value] of elements) {
      const check = ai === "01" && gtinCheckDigit(value.slice(0, 13));
      if (ai === "01" && check !== Number(value[13])) {
        fail(`The GTIN ${value} has a wrong check digit: it should end in ${check}.`);
      }
      if (DATE_AIS.includes(ai)) {
        const date = gs1Date(value, `date (${ai})`);
        if (ai === "17") expiry = date;
      }
      values[ai] = value; // the last of a repeated field counts
    }
    if (!values["01"]) fail("That barcode has no GTIN (01): the product cannot be identified.");
    const { 10: lot = "", 21: serial = "" } = values;
    return { format, gtin: values["01"], hibc: "", lot, serial, expiry, unitOfMeasure: "" };
  }

  function readGs1(body) {
    const cleaned = body.replaceAll("<GS>", GS).replaceAll("\\x1d", GS).replace(/^\x1d+/, "");
    if (cleaned.startsWith("(")) {
      // The printed form: (AI)value..., spaces ignored, and text between fields skipped.
      const found = [...cleaned.replace(/[ \x1d]/g, "").matchAll(/\((\d+)\)([^(]+)/g)];
      if (!found.length) fail("That GS1 barcode has no (AI) followed by its value.");
      return fromElements("gs1", found.map(([, ai, value]) => element(ai, value)));
    }
    const elements = [];
    // The raw form: a fixed-length field runs into the next AI, a variable one ends at GS.
    for (let rest = pyStrip(cleaned); rest; rest = rest.replace(/^\x1d+/, "")) {
      const ai = Object.keys(FIELDS).find((key) => rest.startsWith(key));
      if (!ai && /^\d\d/.test(rest)) unknownField(rest.slice(0, 4));
      if (!ai) fail("That is not a GS1 UDI, GS1 Digital Link or HIBC barcode.");
      const value = rest.split(GS)[0].slice(ai.length).match(new RegExp(`^(?:${FIELDS[ai]})`));
      if (!value) fail(`That GS1 barcode could not be read at (${ai}).`);
      elements.push([ai, value[0]]);
      rest = rest.slice(ai.length + value[0].length);
    }
    return fromElements("gs1", elements);
  }

  // --- GS1 Digital Link ----------------------------------------------------------------------
  // As Python's unquote, %XX decoded; non-ASCII is no GS1 value, nor key, whatever it decodes to.
  const unquote = (text) =>
    text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex) =>
      parseInt(hex, 16) < 0x80 ? String.fromCharCode(parseInt(hex, 16)) : "\ufffd",
    );
  const PRIMARY_KEYS = "01 8006 8013 8010 414 415 417 8017 8018 255 00 253 401 402 8003 8004";

  function readDigitalLink(url) {
    // As urllib's urlsplit: scheme:, //host, path, ?query, #fragment.
    let rest = url.slice(url.indexOf(":") + 1);
    if (rest.startsWith("//")) {
      const host = rest.slice(2).split(/[/?#]/)[0];
      if (/[[\]]/.test(host)) fail("That web address is no GS1 Digital Link this page can read.");
      rest = rest.slice(2 + host.length);
    }
    const [path, query = ""] = rest.split("#")[0].split(/\?(.*)/s);
    const segments = path.split("/");
    const at = segments.findIndex((part) => PRIMARY_KEYS.split(" ").includes(part));
    if (at < 0) fail("That web address is not a GS1 Digital Link: it has no /01/ and a GTIN.");
    const parts = segments.slice(at).map(unquote);
    if (parts.length % 2) fail("That GS1 Digital Link has a key without its value.");
    if (parts[0] !== "01") fail("That GS1 Digital Link names no GTIN (01).");
    const elements = [element("01", parts[1].padStart(14, "0"))];
    const qualifiers = ["22", "10", "21", "235"]; // each at most once, in this order
    for (let i = 2; i < parts.length; i += 2) {
      const next = qualifiers.indexOf(parts[i]);
      if (next < 0) fail(`That GS1 Digital Link has /${parts[i]}/ where it cannot be.`);
      qualifiers.splice(0, next + 1);
      elements.push(element(parts[i], parts[i + 1]));
    }
    // As parse_qs: pairs split at &, + a space, blank values dropped, the last value counts.
    const params = new Map();
    for (const pair of query.split("&")) {
      const [key, value] = pair.split(/=(.*)/s).map((part) => unquote(part.replaceAll("+", " ")));
      if (value) params.set(key, value);
    }
    for (const [key, value] of params) {
      if (has(FIELDS, key)) elements.push(element(key, value));
      else if (/^\d{2,4}$/.test(key)) unknownField(key); // perhaps a GS1 field: not guessed at
    }
    return fromElements("gs1-digital-link", elements);
  }

  // --- HIBC ----------------------------------------------------------------------------------
  const HIBC_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%";
  const show = (char) => (char === " " ? "a space" : char);

  function hibcCheck(data) {
    const values = [...data].map((char) => HIBC_CHARACTERS.indexOf(char));
    if (values.includes(-1)) fail("HIBC holds only capitals, digits and - . space $ / + %.");
    return HIBC_CHARACTERS[values.reduce((sum, value) => sum + value, 0) % 43];
  }

  // The data of a symbol whose last character is its mod-43 check character.
  function verified(symbol) {
    const [data, given] = [symbol.slice(0, -1), symbol.slice(-1)];
    const expected = hibcCheck(data);
    if (expected !== given) fail(`HIBC check character ${show(given)}, not ${show(expected)}.`);
    return data;
  }

  const tooShort = () => fail("That HIBC barcode is cut short.");

  // The primary data without its check: +, labeler (LIC), product number, unit of measure.
  function identity(data) {
    const match = /^\+([A-Z][A-Z0-9]{3})([A-Z0-9]{1,18})([0-9])$/.exec(data);
    if (!match && data.length < 7) tooShort();
    if (!match) fail("That HIBC barcode's labeler, product number or unit of measure is wrong.");
    return { hibc: match[1] + match[2], unitOfMeasure: match[3] };
  }

  function code(value, what, required = true) {
    if (!value && !required) return "";
    if (!/^[A-Z0-9]{1,18}$/.test(value)) fail(`The HIBC ${what} must be 1-18 capitals or digits.`);
    return value;
  }

  const digits = (text, width) => new RegExp(`^[0-9]{${width}}`).test(text); // at its start

  // The flag after $$ says how the expiry is written (as many digits as the format has letters);
  // without one it is MMYY, to the month's end.
  const HIBC_DATES = { 2: "MMDDYY", 3: "YYMMDD", 4: "YYMMDDHH", 5: "YYJJJ", 6: "YYJJJHH", 7: "" };

  function hibcDate(value, format) {
    const n = (from, to) => Number(value.slice(from, to));
    const what = `HIBC expiry date ${value} (${format})`;
    if (format.endsWith("HH") && n(-2) > 23) fail(`The ${what} is not a valid date.`);
    const year = 2000 + (format.startsWith("YY") ? n(0, 2) : n(-2));
    if (format === "MMYY") return isoDate(year, n(0, 2), lastDay(year, n(0, 2)), what);
    if (format === "MMDDYY") return isoDate(year, n(0, 2), n(2, 4), what);
    if (format.startsWith("YYMMDD")) return isoDate(year, n(2, 4), n(4, 6), what);
    const day = n(2, 5); // YYJJJ: the day of the year
    if (day < 1 || day > 365 + isLeap(year)) fail(`The ${what} is not a valid date.`);
    return new Date(Date.UTC(year, 0, day)).toISOString().slice(0, 10);
  }

  // Secondary data after the + and before any link character: $$..., $lot, $+serial.
  function secondary(data) {
    if (data.startsWith("$+")) return { serial: code(data.slice(2), "serial number") };
    if (!data.startsWith("$")) fail("The HIBC secondary data must start with $.");
    if (!data.startsWith("$$")) return { lot: code(data.slice(1), "lot number") };
    let rest = data.slice(2);
    const isSerial = rest.startsWith("+");
    if (isSerial) rest = rest.slice(1);
    if (rest[0] === "8" || rest[0] === "9") {
      const width = rest[0] === "8" ? 2 : 5; // a quantity
      if (!digits(rest.slice(1), width)) fail(`HIBC quantity flag ${rest[0]}: ${width} digits.`);
      rest = rest.slice(1 + width);
    }
    let format = "MMYY";
    if (has(HIBC_DATES, rest.slice(0, 1))) [format, rest] = [HIBC_DATES[rest[0]], rest.slice(1)];
    let expiry = "";
    if (format) {
      if (!digits(rest, format.length)) fail(`The HIBC expiry date must be ${format}.`);
      expiry = hibcDate(rest.slice(0, format.length), format);
      rest = rest.slice(format.length);
    }
    const value = code(rest, isSerial ? "serial number" : "lot number", false);
    return isSerial ? { serial: value, expiry } : { lot: value, expiry };
  }

  function longDate(digits, what) {
    if (!/^[0-9]{8}$/.test(digits)) fail(`The HIBC ${what} is not a date (YYYYMMDD).`);
    const [y, m, d] = [digits.slice(0, 4), digits.slice(4, 6), digits.slice(6)].map(Number);
    return isoDate(y, m, d, `HIBC ${what}`);
  }

  const hibcLabel = (id, { lot = "", serial = "", expiry = "" } = {}) => ({
    format: "hibcc", gtin: "", ...id, lot, serial, expiry,
  });

  function readTwoSymbols(primary, second) {
    // A scanner that reads both symbols may put a space or nothing between them.
    if (primary.endsWith(" ") && hibcCheck(primary.slice(0, -1)) !== " ") {
      primary = primary.replace(/ +$/, "");
    }
    if (primary.length < 8) tooShort();
    const id = identity(verified(primary));
    if (second.length < 4) tooShort();
    const data = verified(second);
    if (data.slice(-1) !== primary.slice(-1)) fail("That HIBC secondary is of another label.");
    return hibcLabel(id, secondary(data.slice(1, -1)));
  }

  // Primary and secondary in one symbol, with supplemental fields: +primary/$$.../14D.../S...
  function readConcatenated(body) {
    const [primary, ...parts] = verified(body).split("/");
    const id = identity(primary);
    let fields = {};
    const more = {};
    parts.forEach((part, index) => {
      if (index === 0 && part.startsWith("$")) fields = secondary(part);
      else if (part.startsWith("16D")) longDate(part.slice(3), "manufacture date (16D)");
      else if (part.startsWith("14D")) more.expiry = longDate(part.slice(3), "expiry date (14D)");
      else if (part.startsWith("S")) more.serial = code(part.slice(1), "serial number (S)");
      else if (!/^Q[0-9]{1,5}$/.test(part)) fail(`The HIBC field ${part} is not one we know.`);
    });
    return hibcLabel(id, { ...fields, ...more });
  }

  function readHibc(body) {
    if (body.startsWith("+$")) fail("That is an HIBC secondary barcode: scan the primary too.");
    const secondAt = body.indexOf("+$", 6);
    if (secondAt > 0) return readTwoSymbols(body.slice(0, secondAt), body.slice(secondAt));
    if (body.slice(0, -1).includes("/")) return readConcatenated(body);
    if (body.length < 8) tooShort();
    return hibcLabel(identity(verified(body)));
  }

  // --- entry points --------------------------------------------------------------------------
  function parse(text) {
    const raw = pyStrip(text);
    if (!raw) fail("Scan or paste a barcode.");
    if ([...raw].length > 255) fail("That barcode is too long for a UDI (255 characters at most).");
    const odd = /[^\x20-\x7e\x1d]/.exec(raw);
    if (odd) fail(`That barcode holds ${odd[0]} at position ${odd.index + 1}: no label does.`);
    const body = raw.replace(/^\][A-Za-z][0-9A-Za-z]/, ""); // a symbology identifier
    if (/^https?:\/\//.test(body.slice(0, 8).toLowerCase())) return readDigitalLink(body);
    if (!body.startsWith("+")) return readGs1(body);
    // A space can be an HIBC check character, which stripping the scan has removed: then the
    // label is also tried with it, and refused for the reason it has without.
    const spaced = text.replace(/[\r\n\t]+$/, "").endsWith(" ") && !body.endsWith(" ");
    const label = spaced && (attempt(() => readHibc(body)) || attempt(() => readHibc(`${body} `)));
    return label || readHibc(body);
  }

  // The answer of `reading`, or null when it refuses the label (a bug still throws).
  function attempt(reading) {
    try {
      return reading();
    } catch (error) {
      if (error instanceof LabelError) return null;
      throw error;
    }
  }

  function read(text) {
    try {
      return { ok: true, ...parse(String(text ?? "")) };
    } catch (error) {
      if (error instanceof LabelError) return { ok: false, message: error.message };
      throw error;
    }
  }

  // Python's str.isdigit: decimal digits, and the other characters Unicode types as digits.
  const DIGIT = new RegExp(
    "^[\\p{Nd}\\xb2\\xb3\\xb9\\u1369-\\u1371\\u19da\\u2070\\u2074-\\u2079\\u2080-\\u2089" +
      "\\u2460-\\u2468\\u2474-\\u247c\\u2488-\\u2490\\u24ea\\u24f5-\\u24fd\\u24ff\\u2776-\\u277e" +
      "\\u2780-\\u2788\\u278a-\\u2792\\u{10a40}-\\u{10a43}\\u{10e60}-\\u{10e68}" +
      "\\u{11052}-\\u{1105a}\\u{1f100}-\\u{1f10a}]$",
    "u",
  );

  // inventory/selectors/scans.py looks_like_label: a symbology identifier, a leading ( or + or
  // web address, or the raw GS1 form with a GTIN (01) and its 14 digits first.
  function looksLikeLabel(line) {
    if (["(", "]", "+", "http://", "https://"].some((start) => line.startsWith(start))) return true;
    const gtin = [...line].slice(2, 16);
    return line.startsWith("01") && gtin.length === 14 && gtin.every((char) => DIGIT.test(char));
  }

  globalThis.TrunkpoolLabel = Object.freeze({ read, looksLikeLabel });
})();
