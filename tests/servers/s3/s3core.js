'use strict';
// The core of a small S3 server for tests that proves things: it checks what a real S3 checks.
// This file holds signature checking, storage, listing and fault rules; server.js the HTTP side
// and the S3 operations.
//
// Why not s3rver: plain s3rver 3.7.1 accepts any signature, ignores payload hashes, writes a PUT
// in place, lacks AbortMultipartUpload, ListParts, ListMultipartUploads and UploadPartCopy, and
// lists in directory order with broken paging (see README.md). Patching all that would replace
// most of it, so this is the S3 subset offsite and rclone use, written against AWS's API
// reference, with node's standard library only.
//
// What it verifies, as AWS does:
//  - SigV4, both header auth and presigned query auth: the canonical request is rebuilt from what
//    arrived (path decoded then URI-encoded per segment, query sorted and re-encoded, the signed
//    headers' trimmed values), the credential scope's date, region and service, the clock skew,
//    that every x-amz-* header sent is signed, the session token. A mismatch is 403
//    SignatureDoesNotMatch, with the server's StringToSign and CanonicalRequest in the body.
//  - the body: x-amz-content-sha256 (a hex digest is checked, UNSIGNED-PAYLOAD is accepted),
//    Content-MD5 and x-amz-checksum-sha256/sha1 when sent; Content-Length is required for data.
//  - multipart: part numbers 1..10000, CompleteMultipartUpload's order, ETags and minimum part
//    size (except the last part; `--min-part-size`), uploads that are aborted or completed are gone.
//
// Storage is a plain directory. An object is a metadata file naming its data files ("segments");
// its metadata is written to a temporary file and renamed into place only once every byte has
// arrived and been checked, so an interrupted PUT leaves nothing visible, and a completed
// multipart upload just adopts its part files (no copy). Keys are kept in memory, sorted in UTF-8
// byte order, which is the order ListObjects pages through.
//
// Tests steer it through /_offsite/... (no auth; bucket names cannot start with '_'): fault
// rules ("the next 2 UploadPart requests get 503 SlowDown", "CompleteMultipartUpload answers 200
// with an error body"), request counters and log, open uploads, limits. See README.md.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Options

function parseOptions(argv) {
  const options = {
    dir: null, host: '127.0.0.1', port: 0, httpsPort: null, tlsDir: null,
    accessKey: 'offsite-test-key', secretKey: null, secretKeyFile: null, sessionToken: null, region: 'us-east-1',
    buckets: [], minPartSize: 5 * MiB, maxObjectSize: 5 * GiB, maxCopySize: 5 * GiB,
    maxSkewSeconds: 900, readyFile: null, log: null,
  };
  const numeric = new Set(['port', 'httpsPort', 'minPartSize', 'maxObjectSize', 'maxCopySize',
    'maxSkewSeconds']);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (!flag.startsWith('--')) throw new Error(`unexpected argument ${flag}`);
    const name = flag.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(name in options) && name !== 'bucket') throw new Error(`unknown option ${flag}`);
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (name === 'bucket') options.buckets.push(value);
    else options[name] = numeric.has(name) ? Number(value) : value;
  }
  if (!options.dir) throw new Error('--dir is required');
  if (options.secretKeyFile) options.secretKey = fs.readFileSync(options.secretKeyFile, 'utf8').trim();
  if (!options.secretKey) throw new Error('--secret-key or --secret-key-file is required');
  return options;
}

// ---------------------------------------------------------------------------------------------
// Errors and XML

class S3Error extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

const escapeXml = (text) => String(text).replace(/[&<>"']/g, (c) =>
  ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
const unescapeXml = (text) => text.replace(/&(lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g,
  (_, name, dec, hex) => dec ? String.fromCodePoint(Number(dec)) : hex
    ? String.fromCodePoint(parseInt(hex, 16))
    : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[name]);

// el('Key', 'a&b') -> <Key>a&amp;b</Key>; arrays are already-built children.
function el(name, content) {
  if (content === undefined || content === null) return '';
  const inner = Array.isArray(content) ? content.join('') : escapeXml(content);
  return `<${name}>${inner}</${name}>`;
}
const document = (root, children) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${children.join('')}</${root}>`;

function errorXml(error, resource, requestId) {
  const extra = Object.entries(error.extra).map(([name, value]) => el(name, value));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${el('Code', error.code)}${el('Message', error.message)}${extra.join('')}${el('Resource', resource)}${el('RequestId', requestId)}</Error>`;
}

// The few request bodies S3 takes are flat; a strict little reader of <Name>text</Name> pairs.
function xmlChildren(text, name) {
  const found = [];
  const pattern = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g');
  for (let match; (match = pattern.exec(text));) found.push(match[1]);
  return found;
}
function xmlValue(text, name) {
  const values = xmlChildren(text, name);
  return values.length ? unescapeXml(values[0].trim()) : null;
}
function requireRoot(text, root) {
  const body = text.replace(/^\s*<\?xml[^>]*\?>\s*/, '').trim();
  const open = new RegExp(`^<${root}(\\s[^>]*)?>`);
  if (!open.test(body) || !body.endsWith(`</${root}>`)) {
    throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// SigV4 (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html)

function uriEncode(text, keepSlash) {
  const encoded = encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}
const sha256Hex = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

function parseAmzDate(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

function canonicalHeaderValue(req, name) {
  const values = req.headersDistinct[name];
  if (!values) return null;
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

class Authenticator {
  constructor(options) {
    this.options = options;
  }

  // Returns {payloadHash} for a request signed with our key, or throws the S3 error AWS gives.
  check(req, parsed) {
    const header = req.headers.authorization;
    const query = parsed.query;
    if (header) return this.checkHeader(req, parsed, header);
    if (query.has('X-Amz-Signature') || query.has('X-Amz-Algorithm')) return this.checkQuery(req, parsed);
    throw new S3Error(403, 'AccessDenied', 'Access Denied (the request is not signed)');
  }

  checkHeader(req, parsed, header) {
    const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(header);
    if (!m) throw new S3Error(400, 'InvalidArgument', 'Unsupported Authorization Type (only AWS4-HMAC-SHA256)');
    const fields = {};
    for (const part of m[1].split(',')) {
      const [name, ...rest] = part.trim().split('=');
      fields[name] = rest.join('=');
    }
    if (!fields.Credential || !fields.SignedHeaders || !fields.Signature) {
      throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; it needs Credential, SignedHeaders and Signature.');
    }
    const payloadHash = req.headers['x-amz-content-sha256'];
    if (!payloadHash) throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    const amzDate = req.headers['x-amz-date'];
    return this.verify(req, parsed, {
      credential: fields.Credential, signedHeaders: fields.SignedHeaders, signature: fields.Signature,
      amzDate, payloadHash, skipQuery: null, malformed: 'AuthorizationHeaderMalformed',
    });
  }

  checkQuery(req, parsed) {
    const q = parsed.query;
    if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    for (const name of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
      if (!q.has(name)) throw new S3Error(400, 'AuthorizationQueryParametersError', `Query-string authentication version 4 requires ${name}.`);
    }
    const expires = Number(q.get('X-Amz-Expires'));
    if (!Number.isInteger(expires) || expires < 1 || expires > 604800) {
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be between 1 and 604800 seconds');
    }
    const date = parseAmzDate(q.get('X-Amz-Date'));
    if (date && Date.now() > date.getTime() + expires * 1000) {
      throw new S3Error(403, 'AccessDenied', 'Request has expired');
    }
    if (q.has('X-Amz-Security-Token') && !this.options.sessionToken) {
      throw new S3Error(403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
    }
    return this.verify(req, parsed, {
      credential: q.get('X-Amz-Credential'), signedHeaders: q.get('X-Amz-SignedHeaders'),
      signature: q.get('X-Amz-Signature'), amzDate: q.get('X-Amz-Date'),
      payloadHash: req.headers['x-amz-content-sha256'] || 'UNSIGNED-PAYLOAD',
      skipQuery: 'X-Amz-Signature', malformed: 'AuthorizationQueryParametersError', presigned: true,
    });
  }

  verify(req, parsed, a) {
    const options = this.options;
    const scope = a.credential.split('/');
    if (scope.length !== 5 || scope[4] !== 'aws4_request' || scope[3] !== 's3') {
      throw new S3Error(400, a.malformed, `The credential is malformed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
    }
    const [accessKey, day, region] = scope;
    if (accessKey !== options.accessKey) {
      throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKey });
    }
    const date = parseAmzDate(a.amzDate);
    if (!date) throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    if (!a.presigned && Math.abs(Date.now() - date.getTime()) > options.maxSkewSeconds * 1000) {
      throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', { RequestTime: a.amzDate, ServerTime: new Date().toISOString() });
    }
    if (day !== a.amzDate.slice(0, 8)) {
      throw new S3Error(400, a.malformed, `The credential's date ${day} is not the request's date ${a.amzDate.slice(0, 8)}.`);
    }
    if (region !== options.region) {
      throw new S3Error(400, a.malformed, `The authorization header is malformed; the region '${region}' is wrong; expecting '${options.region}'`, { Region: options.region });
    }
    const signed = a.signedHeaders.split(';');
    if (!signed.includes('host')) throw new S3Error(400, a.malformed, 'The host header must be signed.');
    const unsigned = Object.keys(req.headers).filter((name) => name.startsWith('x-amz-') && !signed.includes(name));
    if (unsigned.length) {
      throw new S3Error(403, 'AccessDenied', `There were headers present in the request which were not signed`, { HeadersNotSigned: unsigned.join(', ') });
    }
    const token = a.presigned ? parsed.query.get('X-Amz-Security-Token') : req.headers['x-amz-security-token'];
    if ((token || options.sessionToken) && token !== options.sessionToken) {
      throw new S3Error(403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
    }
    const canonicalHeaders = signed.map((name) => {
      const value = canonicalHeaderValue(req, name);
      if (value === null) throw new S3Error(403, 'AccessDenied', `The signed header ${name} is missing from the request`);
      return `${name}:${value}\n`;
    }).join('');
    const canonicalQuery = parsed.queryPairs
      .filter(([name]) => name !== a.skipQuery)
      .map(([name, value]) => [uriEncode(name), uriEncode(value)])
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0))
      .map(([name, value]) => `${name}=${value}`).join('&');
    const canonicalRequest = [req.method, uriEncode(parsed.path, true), canonicalQuery,
      canonicalHeaders, a.signedHeaders, a.payloadHash].join('\n');
    const stringToSign = ['AWS4-HMAC-SHA256', a.amzDate, `${day}/${region}/s3/aws4_request`,
      sha256Hex(canonicalRequest)].join('\n');
    const key = hmac(hmac(hmac(hmac('AWS4' + options.secretKey, day), region), 's3'), 'aws4_request');
    const expected = hmac(key, stringToSign).toString('hex');
    const given = Buffer.from(String(a.signature));
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, Buffer.from(expected))) {
      throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
        AWSAccessKeyId: accessKey, StringToSign: stringToSign, SignatureProvided: a.signature,
        CanonicalRequest: canonicalRequest,
      });
    }
    if (!/^[0-9a-f]{64}$/.test(a.payloadHash) && a.payloadHash !== 'UNSIGNED-PAYLOAD') {
      if (a.payloadHash.startsWith('STREAMING-')) throw new S3Error(501, 'NotImplemented', 'aws-chunked (streaming) payloads are not implemented by this test server');
      throw new S3Error(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 hex digest');
    }
    return { payloadHash: a.payloadHash };
  }
}

// ---------------------------------------------------------------------------------------------
// The store: buckets of objects kept in UTF-8 byte order, open multipart uploads.

const compareKeys = (a, b) => Buffer.compare(a.buf, b.buf);
const randomName = () => crypto.randomBytes(12).toString('hex');
const keyFileName = (key) => crypto.createHash('sha256').update(key).digest('hex') + '.json';

function writeJsonAtomically(file, value) {
  const temporary = `${file}.${randomName()}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(value));
  fs.renameSync(temporary, file);
}

class Bucket {
  constructor(store, name, created) {
    this.name = name;
    this.dir = path.join(store.dir, 'buckets', name);
    this.created = created;
    this.sorted = []; // [{key, buf}] in UTF-8 byte order
    this.objects = new Map(); // key -> metadata
  }

  indexOf(buf) { // first position whose key is >= buf
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (Buffer.compare(this.sorted[mid].buf, buf) < 0) low = mid + 1; else high = mid;
    }
    return low;
  }

  // The commit point of every write: the metadata file is renamed into place.
  commit(meta) {
    const previous = this.objects.get(meta.key);
    writeJsonAtomically(path.join(this.dir, 'meta', keyFileName(meta.key)), meta);
    this.index(meta);
    if (previous) this.dropSegments(previous);
  }

  index(meta) {
    if (!this.objects.has(meta.key)) {
      const buf = Buffer.from(meta.key);
      this.sorted.splice(this.indexOf(buf), 0, { key: meta.key, buf });
    }
    this.objects.set(meta.key, meta);
  }

  remove(key) {
    const meta = this.objects.get(key);
    if (!meta) return false;
    fs.rmSync(path.join(this.dir, 'meta', keyFileName(key)), { force: true });
    this.objects.delete(key);
    this.sorted.splice(this.indexOf(Buffer.from(key)), 1);
    this.dropSegments(meta);
    return true;
  }

  dropSegments(meta) {
    for (const segment of meta.segments) fs.rmSync(path.join(this.dir, segment.file), { force: true });
  }

  newBlobPath() {
    const name = path.join('blobs', randomName());
    return { name, full: path.join(this.dir, name) };
  }
}

class Store {
  constructor(dir) {
    this.dir = dir;
    this.buckets = new Map();
    this.uploads = new Map(); // uploadId -> upload
    fs.mkdirSync(path.join(dir, 'buckets'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'uploads'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    this.load();
  }

  load() {
    for (const name of fs.readdirSync(path.join(this.dir, 'buckets'))) {
      const info = JSON.parse(fs.readFileSync(path.join(this.dir, 'buckets', name, 'bucket.json'), 'utf8'));
      const bucket = new Bucket(this, name, info.created);
      for (const file of fs.readdirSync(path.join(bucket.dir, 'meta'))) {
        if (file.endsWith('.json')) bucket.index(JSON.parse(fs.readFileSync(path.join(bucket.dir, 'meta', file), 'utf8')));
        else fs.rmSync(path.join(bucket.dir, 'meta', file), { force: true });
      }
      this.buckets.set(name, bucket);
    }
    for (const id of fs.readdirSync(path.join(this.dir, 'uploads'))) {
      const file = path.join(this.dir, 'uploads', id, 'upload.json');
      if (!fs.existsSync(file)) continue;
      const upload = JSON.parse(fs.readFileSync(file, 'utf8'));
      upload.parts = new Map(upload.parts.map((part) => [part.number, part]));
      upload.buf = Buffer.from(upload.key);
      this.uploads.set(id, upload);
    }
    fs.rmSync(path.join(this.dir, 'tmp'), { recursive: true, force: true });
    fs.mkdirSync(path.join(this.dir, 'tmp'));
  }

  createBucket(name) {
    if (this.buckets.has(name)) return false;
    const bucket = new Bucket(this, name, new Date().toISOString());
    fs.mkdirSync(path.join(bucket.dir, 'meta'), { recursive: true });
    fs.mkdirSync(path.join(bucket.dir, 'blobs'), { recursive: true });
    writeJsonAtomically(path.join(bucket.dir, 'bucket.json'), { created: bucket.created });
    this.buckets.set(name, bucket);
    return true;
  }

  bucket(name) {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return bucket;
  }

  temporaryPath() {
    return path.join(this.dir, 'tmp', randomName());
  }

  saveUpload(upload) {
    const stored = { ...upload, parts: [...upload.parts.values()], buf: undefined };
    writeJsonAtomically(path.join(this.dir, 'uploads', upload.id, 'upload.json'), stored);
  }

  upload(bucket, key, id) {
    const upload = this.uploads.get(id);
    if (!upload || upload.bucket !== bucket || upload.key !== key) {
      throw new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: id });
    }
    return upload;
  }

  dropUpload(upload) {
    this.uploads.delete(upload.id);
    fs.rmSync(path.join(this.dir, 'uploads', upload.id), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Listing: one paging walk for ListObjects v1/v2 over keys in UTF-8 byte order.
//   The walk starts after `marker` (skipping every key under it when it is a common prefix),
//   keeps keys under `prefix`, rolls keys up to common prefixes at `delimiter`, and stops after
//   `max` entries; `next` is the last entry returned when more follow.

function walkKeys(bucket, { prefix, delimiter, marker, markerIsPrefix, max }) {
  const contents = [];
  const prefixes = [];
  const start = marker && Buffer.compare(Buffer.from(marker), Buffer.from(prefix)) > 0 ? marker : prefix;
  let i = bucket.indexOf(Buffer.from(start));
  let last = null;
  let truncated = false;
  for (; i < bucket.sorted.length; i++) {
    const { key } = bucket.sorted[i];
    if (!key.startsWith(prefix)) {
      if (Buffer.compare(Buffer.from(key), Buffer.from(prefix)) > 0) break;
      continue;
    }
    if (marker && (key === marker || (markerIsPrefix && key.startsWith(marker)))) continue;
    let rolled = null;
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at >= 0) rolled = key.slice(0, at + delimiter.length);
    }
    if (rolled !== null && last && last.prefix && last.name === rolled) continue;
    if (contents.length + prefixes.length >= max) {
      truncated = true;
      break;
    }
    if (rolled !== null) {
      prefixes.push(rolled);
      last = { name: rolled, prefix: true };
    } else {
      contents.push(bucket.objects.get(key));
      last = { name: key, prefix: false };
    }
  }
  return { contents, prefixes, truncated, next: truncated ? last : null };
}

function maxParameter(query, name, fallback) {
  if (!query.has(name)) return fallback;
  const value = Number(query.get(name));
  if (!/^\d+$/.test(query.get(name)) || value < 0) throw new S3Error(400, 'InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name });
  return Math.min(value, 1000);
}

// ---------------------------------------------------------------------------------------------
// Fault rules: {action ('*' = any), mode, count (default 1; -1 = forever), skip, prefix, status,
// code, message, delay_ms}. Modes: status (an error answer; 503 SlowDown by default), error200
// (200 whose body is an <Error>), malformed (200 with broken XML), reset (the connection is cut
// before answering), drop (the request is carried out, then the connection is cut instead of
// answering), delay (answered normally after delay_ms).

class Faults {
  constructor() { this.rules = []; }

  add(rule) {
    const modes = ['status', 'error200', 'malformed', 'reset', 'drop', 'delay'];
    if (!modes.includes(rule.mode)) throw new Error(`mode must be one of ${modes.join(', ')}`);
    if (!rule.action) throw new Error('action is required ("*" for any)');
    this.rules.push({ count: 1, skip: 0, ...rule });
  }

  take(action, key) {
    for (const rule of this.rules) {
      if (rule.action !== '*' && rule.action !== action) continue;
      if (rule.prefix && !(key || '').startsWith(rule.prefix)) continue;
      if (rule.skip > 0) { rule.skip--; continue; }
      if (rule.count > 0) rule.count--;
      if (rule.count === 0) this.rules.splice(this.rules.indexOf(rule), 1);
      rule.fired = (rule.fired || 0) + 1;
      return { ...rule };
    }
    return null;
  }
}

module.exports = {
  parseOptions, S3Error, Authenticator, Store, walkKeys, maxParameter, Faults, uriEncode, el,
  document, errorXml, xmlChildren, xmlValue, requireRoot, MiB, GiB,
};
