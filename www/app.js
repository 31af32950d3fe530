// The Cachet demo: sign and verify with the public package API only, as any web mail would.
import { init, sign, verify } from '/pkg/index.js';

/** An RFC 5322 date-time in UTC: `Mon, 23 Nov 2026 09:30:00 +0000`. */
function rfc5322Date(date) {
  const [day, dd, mon, yyyy, hms] = date.toUTCString().split(' ');
  return `${day} ${dd} ${mon} ${yyyy} ${hms} +0000`;
}

/** The sample message, dated now: a Date: header much later than the signing time is flagged. */
const sample = () => [
  'From: Alice <alice@example.org>',
  'To: Bob <bob@example.org>',
  'Subject: Lunch on Friday?',
  `Date: ${rfc5322Date(new Date())}`,
  'Message-ID: <demo-1@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Hi Bob,',
  '',
  'Shall we have lunch on Friday at noon? The usual café.',
  '',
  'Alice',
  '',
].join('\r\n');

const STATUS_TEXT = {
  valid: 'Valid signature',
  'invalid-signature': 'Invalid signature',
  'content-altered': 'Content altered after signing',
  untrusted: 'Signer not trusted',
  expired: 'Certificate expired',
  'not-yet-valid': 'Certificate not yet valid',
  'wrong-usage': 'Certificate may not sign mail',
  'address-mismatch': 'Signer does not match the From address',
  'weak-algorithm': 'Weak algorithm',
  'unsupported-algorithm': 'Unsupported algorithm',
  revoked: 'Certificate revoked',
  'date-mismatch': 'Date header later than the signing time',
};
const BROKEN = new Set(['invalid-signature', 'content-altered']);

const $ = (id) => document.getElementById(id);
const els = {
  status: $('status'),
  message: $('message'),
  reset: $('reset'),
  signForm: $('sign-form'),
  signButton: $('sign'),
  ownIdentity: $('own-identity'),
  p12File: $('p12-file'),
  p12Password: $('p12-password'),
  digest: $('digest'),
  verifyForm: $('verify-form'),
  verifyButton: $('verify'),
  demoAnchor: $('demo-anchor'),
  anchorFiles: $('anchor-files'),
  date: $('date'),
  result: $('result'),
  banners: $('banners'),
  content: $('content'),
  error: $('error'),
};

/** A textarea hands back LF line ends; mail is CRLF. */
const crlf = (text) => text.replace(/\r?\n/g, '\r\n');

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const fileBytes = async (file) => new Uint8Array(await file.arrayBuffer());

function selected(name) {
  return document.querySelector(`input[name="${name}"]:checked`)?.value;
}

/** The chosen verification time, or undefined for "now". */
function chosenDate() {
  if (!els.date.value) return undefined;
  const date = new Date(els.date.value);
  if (Number.isNaN(date.getTime())) throw new Error('The verification time is not a valid date.');
  return date;
}

async function signingKeys() {
  if (selected('identity') === 'own') {
    const file = els.p12File.files?.[0];
    if (!file) throw new Error('Choose a PKCS#12 file, or use the demo identity.');
    return { privateKey: await fileBytes(file), password: els.p12Password.value };
  }
  return { privateKey: await fetchBytes('/demo/alice.p12'), password: 'test' };
}

async function trustAnchors() {
  const anchors = [];
  if (els.demoAnchor.checked) anchors.push(await fetchBytes('/demo/root-ca.pem'));
  for (const file of els.anchorFiles.files ?? []) anchors.push(await fileBytes(file));
  return anchors;
}

function showError(error) {
  const message = String(error?.message ?? error);
  const code = error?.code && !message.startsWith(`${error.code}:`) ? `${error.code}: ` : '';
  els.error.textContent = `${code}${message}`;
  els.error.hidden = false;
}

function clearOutput() {
  els.error.hidden = true;
  els.error.textContent = '';
  els.result.hidden = true;
  els.banners.replaceChildren();
  els.content.textContent = '';
}

/** Run `task` with both buttons disabled, reporting thrown errors. */
async function busy(task) {
  clearOutput();
  els.signButton.disabled = els.verifyButton.disabled = true;
  document.body.setAttribute('aria-busy', 'true');
  try {
    await task();
  } catch (error) {
    showError(error);
  } finally {
    els.signButton.disabled = els.verifyButton.disabled = false;
    document.body.removeAttribute('aria-busy');
  }
}

function row(list, term, value) {
  if (value === undefined || value === null || value === '') return;
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value instanceof Date ? value.toISOString() : String(value);
  list.append(dt, dd);
}

function banner(signer, index, count) {
  const status = signer.status ?? 'unknown';
  const box = document.createElement('article');
  box.className = `banner ${status === 'valid' ? 'valid' : BROKEN.has(status) ? 'invalid' : 'warning'}`;
  box.dataset.status = status;
  const title = document.createElement('h3');
  const label = STATUS_TEXT[status] ?? status;
  title.textContent = count > 1 ? `Signer ${index + 1}: ${label}` : label;
  const list = document.createElement('dl');
  row(list, 'Status', `${status} (${signer.code})`);
  row(list, 'Reason', signer.reason);
  row(list, 'Email', signer.emails?.length ? signer.emails.join(', ') : signer.email);
  row(list, 'Subject', signer.subject);
  row(list, 'Signing time', signer.signingTime);
  row(list, 'Algorithms', [signer.digestAlgorithm, signer.signatureAlgorithm].filter(Boolean).join(', '));
  box.append(title, list);
  return box;
}

function showReport(report) {
  const signers = report.signers ?? [];
  if (signers.length === 0) {
    const box = document.createElement('article');
    box.className = 'banner invalid';
    box.dataset.status = 'no-signers';
    box.textContent = 'The message carries no signer.';
    els.banners.append(box);
  }
  signers.forEach((signer, i) => els.banners.append(banner(signer, i, signers.length)));
  const content = report.content;
  els.content.textContent =
    typeof content === 'string' ? content : content ? new TextDecoder().decode(content) : '';
  els.result.dataset.valid = String(Boolean(report.valid));
  els.result.hidden = false;
}

els.signForm.addEventListener('submit', (event) => {
  event.preventDefault();
  busy(async () => {
    const signed = await sign({
      message: crlf(els.message.value),
      signingKeys: await signingKeys(),
      detached: selected('format') !== 'opaque',
      digest: els.digest.value,
      // Signed now: a signing time far from the Date: header would be flagged on verification.
    });
    els.message.value = signed;
    els.status.textContent = 'Signed. Verify it, or edit it first to see tampering detected.';
  });
});

els.verifyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  busy(async () => {
    const report = await verify({
      message: crlf(els.message.value),
      trustAnchors: await trustAnchors(),
      date: chosenDate(),
    });
    showReport(report);
    els.status.textContent = report.valid ? 'Verified.' : 'Verified: see the problems below.';
  });
});

els.reset.addEventListener('click', () => {
  els.message.value = sample();
  clearOutput();
});

function syncIdentity() {
  const own = selected('identity') === 'own';
  els.ownIdentity.setAttribute('aria-disabled', String(!own));
  els.p12File.disabled = els.p12Password.disabled = !own;
}
for (const radio of document.querySelectorAll('input[name="identity"]')) {
  radio.addEventListener('change', syncIdentity);
}

els.message.value = sample();
syncIdentity();
try {
  await init();
  els.signButton.disabled = els.verifyButton.disabled = false;
  els.status.textContent = 'Ready.';
  document.documentElement.dataset.ready = 'true';
} catch (error) {
  els.status.textContent = 'Cachet could not load.';
  showError(error);
  document.documentElement.dataset.ready = 'failed';
}
