// The log sink's last line of defence: every record from every part (Polar
// wire log, Moonraker wire log, features, the CLI) passes through
// `sanitizeLogText` before any sink sees it. Call sites may (and do) redact
// structured payloads earlier; this catches what they miss, whatever the
// format — JSON (also JSON inside a JSON string), G-code `PIN=…` arguments,
// `key: value` text, URLs with a query, PEM blocks, bearer tokens.
// It also makes every record exactly one line: control characters (from
// cloud or LAN strings) are escaped, so a newline in a command name cannot
// forge a log line and an ESC cannot repaint a terminal.

const MASK = '[redacted]';

/**
 * Key names whose values are secrets. Matched case-insensitively as a whole
 * name (`spin`/`mapping` are not `pin`). `policy` and `private` are common
 * words, so they count as keys only when quoted or followed by `=`.
 */
const SECRET_KEY = String.raw`pin|[a-z_]*token|api[_-]?key|x-api-key|apikey|password|passwd|passphrase|secret|client_secret|signature|x-amz-[a-z0-9-]+|private[_-]?key|authorization|credential|cookie|policy|private`;
const WEAK_KEYS = new Set(['policy', 'private']);

// (boundary)(opening quotes)(key)(closing quotes)(separator) — the value is scanned by hand.
const KEY_RE = new RegExp(String.raw`(^|[^A-Za-z0-9_-])((?:\\*["'])?)(${SECRET_KEY})((?:\\*["'])?)([ \t]*[:=][ \t]*)`, 'gi');

const PEM_RE = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const BEARER_RE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi;
// A URL's query and fragment (pre-signed URLs carry credentials there); the path is kept.
const URL_QUERY_RE = /\b((?:https?|wss?):\/\/[^\s"'<>?#\\]*)[?#][^\s"'<>\\]*/gi;
// C0 controls except tab, DEL, C1 controls, line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;

export function sanitizeLogText(msg: string): string {
  return escapeControlChars(redactSecrets(msg));
}

export function redactSecrets(msg: string): string {
  let out = msg;
  if (out.includes('PRIVATE KEY-----')) out = out.replace(PEM_RE, '[redacted private key]');
  out = out.replace(URL_QUERY_RE, '$1?…');
  out = out.replace(BEARER_RE, `$1 ${MASK}`);
  return redactKeyValues(out);
}

function redactKeyValues(msg: string): string {
  KEY_RE.lastIndex = 0;
  let out = '';
  let copied = 0;
  let m: RegExpExecArray | null;
  while ((m = KEY_RE.exec(msg)) !== null) {
    const [whole, boundary, openQ, key, closeQ, sep] = m as unknown as [string, string, string, string, string, string];
    const quoted = openQ !== '' && closeQ !== '';
    if (WEAK_KEYS.has(key.toLowerCase()) && !quoted && !sep.includes('=')) continue;
    const valueStart = m.index + whole.length;
    const valueEnd = scanValue(msg, valueStart);
    if (valueEnd === valueStart) continue;
    const value = msg.slice(valueStart, valueEnd);
    // An already masked or structured value (an object/array) is left for its own keys.
    if (value.includes(MASK) || value.startsWith('{') || value.startsWith('[')) continue;
    out += msg.slice(copied, m.index) + boundary + openQ + key + closeQ + sep + maskLike(value);
    copied = valueEnd;
    KEY_RE.lastIndex = valueEnd;
  }
  return copied === 0 ? msg : out + msg.slice(copied);
}

/** Keeps the value's quoting so the line stays parseable JSON where it was. */
function maskLike(value: string): string {
  const q = /^(\\*["'])/.exec(value);
  if (q) return `${q[1]}${MASK}${q[1]}`;
  return MASK;
}

/** End of the value starting at `i`: a (possibly backslash-escaped) quoted string, or a bare token. */
function scanValue(s: string, i: number): number {
  const q = /^(\\*)(["'])/.exec(s.slice(i, i + 16));
  if (q) {
    const open = q[0];
    const close = open; // the same escaping closes it
    let j = i + open.length;
    while (j < s.length) {
      if (s.startsWith(close, j) && !(q[1] === '' && s[j - 1] === '\\' && !isEscapedBackslash(s, j - 1))) return j + close.length;
      j++;
    }
    return s.length;
  }
  let j = i;
  while (j < s.length && !/[\s,;&}\])"'\\]/.test(s[j]!)) j++;
  return j;
}

function isEscapedBackslash(s: string, k: number): boolean {
  let n = 0;
  while (k - n >= 0 && s[k - n] === '\\') n++;
  return n % 2 === 0;
}

/** One record, one line: newlines become `\n`, other controls `\xNN`/`\uNNNN`. */
export function escapeControlChars(msg: string): string {
  CONTROL_RE.lastIndex = 0;
  if (!CONTROL_RE.test(msg)) return msg;
  return msg.replace(CONTROL_RE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
