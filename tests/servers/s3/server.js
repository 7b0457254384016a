#!/usr/bin/env node
'use strict';
// The S3 test server's HTTP side: routes path-style requests to S3 operations, checks their
// signature and body (s3core.js), applies fault rules, and serves /_offsite/ control calls.
// Usage (start.sh does this): node server.js --dir DATA --secret-key SECRET [--access-key ID]
//   [--port 0] [--https-port 0 --tls-dir DIR] [--bucket NAME]... [--region us-east-1]
//   [--session-token TOKEN] [--min-part-size BYTES] [--max-copy-size BYTES]
//   [--max-object-size BYTES] [--ready-file FILE] [--log FILE]

const http = require('http');
const https = require('https');
const crypto = require('crypto');
const fs = require('fs');
const fsp = require('fs/promises');
const path = require('path');
const { pipeline } = require('stream/promises');
const { Transform } = require('stream');
const { execFileSync } = require('child_process');
const core = require('./s3core.js');

const { S3Error, el, document, xmlChildren, xmlValue, requireRoot, uriEncode, MiB, GiB } = core;

const STORAGE_CLASSES = new Set(['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA',
  'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE']);
const ENCRYPTIONS = new Set(['AES256', 'aws:kms', 'aws:kms:dsse']);
const UNSUPPORTED = ['acl', 'tagging', 'versioning', 'versions', 'policy', 'lifecycle', 'cors',
  'website', 'logging', 'notification', 'replication', 'encryption', 'object-lock', 'retention',
  'legal-hold', 'torrent', 'restore', 'select', 'attributes', 'accelerate', 'requestPayment'];
const OWNER = [el('ID', 'offsite-test-owner'), el('DisplayName', 'offsite-test')];

let options;
let store;
let auth;
const faults = new core.Faults();
// max_parts_in_flight: the most UploadPart requests of one multipart upload served at once.
const stats = { requests: {}, statuses: {}, bytes_in: 0, last_seq: 0, max_parts_in_flight: 0 };
const partsInFlight = new Map(); // upload ID -> UploadPart requests being served
const requestLog = [];
let logStream = null;
let nextRequestId = 1;

// ---------------------------------------------------------------------------------------------
// Requests

function parseRequest(req) {
  const raw = req.url;
  const at = raw.indexOf('?');
  const rawPath = at < 0 ? raw : raw.slice(0, at);
  const rawQuery = at < 0 ? '' : raw.slice(at + 1);
  const decode = (text) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
    }
  };
  const decodedPath = decode(rawPath);
  if (!decodedPath.startsWith('/')) throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  const slash = decodedPath.indexOf('/', 1);
  const queryPairs = rawQuery.split('&').filter((pair) => pair !== '').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
  });
  const query = new Map();
  for (const [name, value] of queryPairs) if (!query.has(name)) query.set(name, value);
  return {
    path: decodedPath, query, queryPairs,
    bucket: slash < 0 ? decodedPath.slice(1) : decodedPath.slice(1, slash),
    key: slash < 0 ? '' : decodedPath.slice(slash + 1),
  };
}

function actionOf(method, { bucket, key, query }, headers) {
  for (const name of UNSUPPORTED) {
    if (query.has(name)) return `Unsupported(${name})`;
  }
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unsupported';
  if (!key) {
    if (method === 'GET') {
      if (query.has('uploads')) return 'ListMultipartUploads';
      if (query.has('location')) return 'GetBucketLocation';
      return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    }
    if (method === 'POST' && query.has('delete')) return 'DeleteObjects';
    return { PUT: 'CreateBucket', DELETE: 'DeleteBucket', HEAD: 'HeadBucket' }[method] || 'Unsupported';
  }
  const copy = 'x-amz-copy-source';
  switch (method) {
    case 'PUT':
      if (query.has('uploadId') || query.has('partNumber')) return `UploadPart${copy in headers ? 'Copy' : ''}`;
      return copy in headers ? 'CopyObject' : 'PutObject';
    case 'GET': return query.has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD': return 'HeadObject';
    case 'DELETE': return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('uploadId')) return 'CompleteMultipartUpload';
      return 'Unsupported';
    default: return 'Unsupported';
  }
}

function validateKey(key) {
  if (Buffer.byteLength(key) > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
}

function validateBucketName(name) {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
    throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
  }
}

// ---------------------------------------------------------------------------------------------
// Bodies: every byte is checked against x-amz-content-sha256, Content-MD5 and x-amz-checksum-*.

function bodyChecks(ctx) {
  const headers = ctx.req.headers;
  const md5Header = headers['content-md5'];
  if (md5Header !== undefined && Buffer.from(md5Header, 'base64').length !== 16) {
    throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5Header });
  }
  const checksums = [];
  for (const name of Object.keys(headers)) {
    const m = /^x-amz-checksum-(.+)$/.exec(name);
    if (!m || ['type', 'algorithm', 'mode'].includes(m[1])) continue;
    if (m[1] !== 'sha256' && m[1] !== 'sha1') throw new S3Error(501, 'NotImplemented', `x-amz-checksum-${m[1]} is not implemented by this test server`);
    checksums.push({ name: m[1], header: headers[name], hash: crypto.createHash(m[1]) });
  }
  const payloadHash = ctx.auth.payloadHash;
  const sha = /^[0-9a-f]{64}$/.test(payloadHash) ? crypto.createHash('sha256') : null;
  const md5 = crypto.createHash('md5');
  let size = 0;
  return {
    update(chunk) {
      size += chunk.length;
      md5.update(chunk);
      if (sha) sha.update(chunk);
      for (const c of checksums) c.hash.update(chunk);
    },
    finish() {
      const result = { size, md5: md5.digest() };
      if (sha) {
        const computed = sha.digest('hex');
        if (computed !== payloadHash) {
          throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: computed });
        }
      }
      if (md5Header !== undefined && md5Header !== result.md5.toString('base64')) {
        throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: md5Header, CalculatedDigest: result.md5.toString('base64') });
      }
      for (const c of checksums) {
        if (c.hash.digest('base64') !== c.header) {
          throw new S3Error(400, 'BadDigest', `The ${c.name} you specified did not match the calculated checksum.`);
        }
        ctx.responseHeaders[`x-amz-checksum-${c.name}`] = c.header;
      }
      return result;
    },
  };
}

function letBodyCome(ctx) {
  if (ctx.req.expectsContinue && !ctx.continued) {
    ctx.continued = true;
    ctx.res.writeContinue();
  }
}

// Streams the body into `file`; removes it unless every check passed.
async function receiveToFile(ctx, file, maxSize) {
  const declared = ctx.req.headers['content-length'];
  if (declared === undefined) throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  if (Number(declared) > maxSize) {
    throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { ProposedSize: declared, MaxSizeAllowed: maxSize });
  }
  const checks = bodyChecks(ctx);
  letBodyCome(ctx);
  const tap = new Transform({
    transform(chunk, _encoding, done) {
      checks.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(ctx.req, tap, fs.createWriteStream(file));
    ctx.bodyDone = true;
    const result = checks.finish();
    if (result.size !== Number(declared)) throw new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    stats.bytes_in += result.size;
    return result;
  } catch (error) {
    fs.rmSync(file, { force: true });
    if (error instanceof S3Error) throw error;
    throw new S3Error(400, 'IncompleteBody', `The request body ended early (${error.code || error.message})`);
  }
}

async function readSmallBody(ctx, limit = 2 * MiB) {
  const checks = bodyChecks(ctx);
  letBodyCome(ctx);
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > limit) throw new S3Error(400, 'MaxMessageLengthExceeded', 'Your request was too big.');
    checks.update(chunk);
    chunks.push(chunk);
  }
  ctx.bodyDone = true;
  checks.finish();
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Responses

function send(ctx, status, headers = {}, body = '') {
  const { res } = ctx;
  ctx.status = status;
  if (ctx.fault && ctx.fault.mode === 'drop') {
    ctx.req.socket.resetAndDestroy();
    return;
  }
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const all = { ...ctx.responseHeaders, ...headers };
  if (payload.length && !all['Content-Type']) all['Content-Type'] = 'application/xml';
  all['Content-Length'] = ctx.req.method === 'HEAD' && headers['Content-Length'] !== undefined ? headers['Content-Length'] : payload.length;
  if (!ctx.bodyDone && !ctx.req.complete) all.Connection = 'close'; // its body was never read
  res.writeHead(status, all);
  res.end(ctx.req.method === 'HEAD' ? undefined : payload);
}

const sendXml = (ctx, root, children, headers = {}) => send(ctx, 200, headers, document(root, children));

function sendError(ctx, error) {
  if (!(error instanceof S3Error)) {
    console.error(error);
    error = new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
  }
  ctx.code = error.code;
  if (ctx.res.headersSent) {
    ctx.req.socket.destroy();
    return;
  }
  const body = ctx.req.method === 'HEAD' ? '' : core.errorXml(error, ctx.parsed ? ctx.parsed.path : ctx.req.url, ctx.id);
  const headers = error.status === 416 && error.extra.ActualObjectSize !== undefined ? { 'Content-Range': `bytes */${error.extra.ActualObjectSize}` } : {};
  if (error.status === 503) headers['Retry-After'] = '1';
  send(ctx, error.status, headers, body);
}

const etagOf = (meta) => `"${meta.etag}"`;
const quoteless = (etag) => (etag || '').replace(/^\s*"|"\s*$/g, '').replace(/^W\//, '');

function objectHeaders(meta) {
  const headers = {
    'Content-Type': meta.contentType, ETag: etagOf(meta),
    'Last-Modified': new Date(meta.lastModified).toUTCString(), 'Accept-Ranges': 'bytes',
  };
  for (const [name, value] of Object.entries(meta.metadata)) headers[`x-amz-meta-${name}`] = value;
  if (meta.storageClass !== 'STANDARD') headers['x-amz-storage-class'] = meta.storageClass;
  if (meta.sse) headers['x-amz-server-side-encryption'] = meta.sse;
  return headers;
}

// ---------------------------------------------------------------------------------------------
// Object operations

function objectAttributes(headers) {
  const metadata = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-')) metadata[name.slice(11)] = value;
  }
  const storageClass = headers['x-amz-storage-class'] || 'STANDARD';
  if (!STORAGE_CLASSES.has(storageClass)) throw new S3Error(400, 'InvalidStorageClass', 'The storage class you specified is not valid', { StorageClassRequested: storageClass });
  const sse = headers['x-amz-server-side-encryption'] || null;
  if (sse && !ENCRYPTIONS.has(sse)) throw new S3Error(400, 'InvalidArgument', 'The encryption method specified is not supported', { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse });
  return { contentType: headers['content-type'] || 'binary/octet-stream', metadata, storageClass, sse };
}

// If-None-Match: * (create only) and If-Match: ETag (replace only that version).
function checkWriteConditions(bucket, key, headers) {
  const existing = bucket.objects.get(key);
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined) {
    if (noneMatch.trim() !== '*') throw new S3Error(501, 'NotImplemented', 'If-None-Match takes only * on writes');
    if (existing) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
  }
  const match = headers['if-match'];
  if (match !== undefined) {
    if (!existing) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    if (quoteless(match) !== existing.etag) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  }
}

function commitObject(ctx, bucket, file, fields) {
  checkWriteConditions(bucket, ctx.parsed.key, ctx.req.headers);
  const blob = bucket.newBlobPath();
  fs.renameSync(file, blob.full);
  const meta = { key: ctx.parsed.key, lastModified: new Date().toISOString(), segments: [{ file: blob.name, size: fields.size }], ...fields };
  bucket.commit(meta);
  return meta;
}

async function putObject(ctx) {
  const bucket = store.bucket(ctx.parsed.bucket);
  validateKey(ctx.parsed.key);
  const attributes = objectAttributes(ctx.req.headers);
  const file = store.temporaryPath();
  const body = await receiveToFile(ctx, file, options.maxObjectSize);
  try {
    const meta = commitObject(ctx, bucket, file, { size: body.size, etag: body.md5.toString('hex'), ...attributes });
    send(ctx, 200, { ETag: etagOf(meta), ...(meta.sse ? { 'x-amz-server-side-encryption': meta.sse } : {}) });
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function findObject(bucket, key) {
  const meta = bucket.objects.get(key);
  if (!meta) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
  return meta;
}

function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // S3 ignores what it cannot parse
  let start;
  let end;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) {
    throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: header, ActualObjectSize: size });
  }
  return { start, end };
}

// Opens every segment first, so an object replaced meanwhile is still read whole.
async function openSegments(bucket, meta) {
  const handles = [];
  try {
    for (const segment of meta.segments) handles.push(await fsp.open(path.join(bucket.dir, segment.file)));
  } catch (error) {
    for (const handle of handles) await handle.close();
    throw error;
  }
  return handles;
}

async function* readRange(meta, handles, start, end) {
  let offset = 0;
  for (let i = 0; i < meta.segments.length; i++) {
    const first = offset;
    const last = offset + meta.segments[i].size - 1;
    offset += meta.segments[i].size;
    if (last < start || first > end) continue;
    yield handles[i].createReadStream({ start: Math.max(start, first) - first, end: Math.min(end, last) - first, autoClose: false });
  }
}

async function getObject(ctx) {
  const bucket = store.bucket(ctx.parsed.bucket);
  await readSmallBody(ctx);
  let meta = findObject(bucket, ctx.parsed.key);
  let handles;
  try {
    handles = await openSegments(bucket, meta);
  } catch {
    meta = findObject(bucket, ctx.parsed.key); // replaced between the lookup and the open
    handles = await openSegments(bucket, meta);
  }
  try {
    const headers = objectHeaders(meta);
    const { req, res } = ctx;
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && quoteless(ifMatch) !== meta.etag) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && quoteless(ifNoneMatch) === meta.etag) return send(ctx, 304, headers);
    let start = 0;
    let end = meta.size - 1;
    let status = 200;
    const range = req.headers.range && meta.size > 0 ? parseRange(req.headers.range, meta.size) : null;
    if (range) {
      ({ start, end } = range);
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${meta.size}`;
    }
    headers['Content-Length'] = end - start + 1;
    if (req.method === 'HEAD') return send(ctx, status, headers);
    if (ctx.fault && ctx.fault.mode === 'drop') return send(ctx, status);
    ctx.status = status;
    res.writeHead(status, { ...ctx.responseHeaders, ...headers });
    for await (const stream of readRange(meta, handles, start, end)) await pipeline(stream, res, { end: false });
    res.end();
  } finally {
    for (const handle of handles) await handle.close();
  }
}

async function deleteObject(ctx) {
  const bucket = store.bucket(ctx.parsed.bucket);
  await readSmallBody(ctx);
  bucket.remove(ctx.parsed.key);
  send(ctx, 204);
}

async function deleteObjects(ctx) {
  const bucket = store.bucket(ctx.parsed.bucket);
  const headers = ctx.req.headers;
  if (!headers['content-md5'] && !Object.keys(headers).some((name) => name.startsWith('x-amz-checksum-'))) {
    throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: Content-MD5');
  }
  const body = requireRoot(await readSmallBody(ctx), 'Delete');
  const keys = xmlChildren(body, 'Object').map((object) => xmlValue(object, 'Key'));
  if (keys.length === 0 || keys.length > 1000 || keys.includes(null)) {
    throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  }
  const quiet = xmlValue(body, 'Quiet') === 'true';
  for (const key of keys) bucket.remove(key);
  sendXml(ctx, 'DeleteResult', quiet ? [] : keys.map((key) => el('Deleted', [el('Key', key)])));
}

// "x-amz-copy-source: /bucket/key?versionId=..." with the key URL-encoded.
function copySource(ctx) {
  let text = ctx.req.headers['x-amz-copy-source'];
  const query = text.indexOf('?');
  if (query >= 0) text = text.slice(0, query);
  let decoded;
  try {
    decoded = decodeURIComponent(text).replace(/^\//, '');
  } catch {
    throw new S3Error(400, 'InvalidArgument', 'Invalid copy source encoding', { ArgumentName: 'x-amz-copy-source' });
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { ArgumentName: 'x-amz-copy-source' });
  }
  const bucket = store.bucket(decoded.slice(0, slash));
  const meta = findObject(bucket, decoded.slice(slash + 1));
  const headers = ctx.req.headers;
  const ifMatch = headers['x-amz-copy-source-if-match'];
  const ifNoneMatch = headers['x-amz-copy-source-if-none-match'];
  if ((ifMatch !== undefined && quoteless(ifMatch) !== meta.etag) || (ifNoneMatch !== undefined && quoteless(ifNoneMatch) === meta.etag)) {
    throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  }
  return { bucket, meta };
}

// Copies bytes [start, end] of an object into `file` (the server-side copy does real work).
async function copyBytes(source, start, end, file) {
  const handles = await openSegments(source.bucket, source.meta);
  const md5 = crypto.createHash('md5');
  const out = fs.createWriteStream(file);
  try {
    for await (const stream of readRange(source.meta, handles, start, end)) {
      stream.on('data', (chunk) => md5.update(chunk));
      await pipeline(stream, out, { end: false });
    }
    out.end();
    await new Promise((resolve, reject) => out.on('finish', resolve).on('error', reject));
  } finally {
    for (const handle of handles) await handle.close();
  }
  return md5.digest();
}

async function copyObject(ctx) {
  const bucket = store.bucket(ctx.parsed.bucket);
  validateKey(ctx.parsed.key);
  const source = copySource(ctx);
  await readSmallBody(ctx);
  if (source.meta.size > options.maxCopySize) {
    throw new S3Error(400, 'InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${options.maxCopySize}`);
  }
  const headers = ctx.req.headers;
  const directive = headers['x-amz-metadata-directive'] || 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error(400, 'InvalidArgument', 'Unknown metadata directive.', { ArgumentName: 'x-amz-metadata-directive' });
  const sameObject = source.bucket === bucket && source.meta.key === ctx.parsed.key;
  if (sameObject && directive === 'COPY' && !headers['x-amz-storage-class'] && !headers['x-amz-server-side-encryption']) {
    throw new S3Error(400, 'InvalidRequest', "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
  }
  const given = objectAttributes(headers);
  const attributes = directive === 'REPLACE' ? given : {
    contentType: source.meta.contentType, metadata: source.meta.metadata,
    storageClass: headers['x-amz-storage-class'] ? given.storageClass : source.meta.storageClass,
    sse: given.sse,
  };
  const file = store.temporaryPath();
  try {
    const md5 = await copyBytes(source, 0, source.meta.size - 1, file);
    if (ctx.fault && ctx.fault.mode === 'error200') return faultAnswer(ctx);
    const meta = commitObject(ctx, bucket, file, { size: source.meta.size, etag: md5.toString('hex'), ...attributes });
    sendXml(ctx, 'CopyObjectResult', [el('LastModified', meta.lastModified), el('ETag', etagOf(meta))]);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Multipart uploads

async function createMultipartUpload(ctx) {
  const bucket = store.bucket(ctx.parsed.bucket);
  validateKey(ctx.parsed.key);
  await readSmallBody(ctx);
  const upload = {
    id: crypto.randomBytes(36).toString('base64url'), bucket: bucket.name, key: ctx.parsed.key,
    buf: Buffer.from(ctx.parsed.key), initiated: new Date().toISOString(),
    attributes: objectAttributes(ctx.req.headers), parts: new Map(),
  };
  fs.mkdirSync(path.join(store.dir, 'uploads', upload.id));
  store.saveUpload(upload);
  store.uploads.set(upload.id, upload);
  sendXml(ctx, 'InitiateMultipartUploadResult', [el('Bucket', bucket.name), el('Key', upload.key), el('UploadId', upload.id)]);
}

function partNumber(ctx) {
  const text = ctx.parsed.query.get('partNumber');
  const number = Number(text);
  if (!/^\d+$/.test(text || '') || number < 1 || number > 10000) {
    throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: text });
  }
  return number;
}

// Records a part whose bytes are in `file`; an abort that came meanwhile wins.
function addPart(ctx, upload, number, file, size, md5) {
  if (!store.uploads.has(upload.id)) {
    fs.rmSync(file, { force: true });
    store.upload(upload.bucket, upload.key, upload.id); // throws NoSuchUpload
  }
  const previous = upload.parts.get(number);
  const part = { number, etag: md5.toString('hex'), size, file, lastModified: new Date().toISOString() };
  upload.parts.set(number, part);
  store.saveUpload(upload);
  if (previous) fs.rmSync(previous.file, { force: true });
  return part;
}

async function uploadPart(ctx) {
  store.bucket(ctx.parsed.bucket);
  const number = partNumber(ctx);
  const upload = store.upload(ctx.parsed.bucket, ctx.parsed.key, ctx.parsed.query.get('uploadId'));
  const file = path.join(store.dir, 'uploads', upload.id, `${number}-${crypto.randomBytes(6).toString('hex')}`);
  const body = await receiveToFile(ctx, file, 5 * GiB);
  const part = addPart(ctx, upload, number, file, body.size, body.md5);
  send(ctx, 200, { ETag: `"${part.etag}"` });
}

async function uploadPartCopy(ctx) {
  store.bucket(ctx.parsed.bucket);
  const number = partNumber(ctx);
  const upload = store.upload(ctx.parsed.bucket, ctx.parsed.key, ctx.parsed.query.get('uploadId'));
  const source = copySource(ctx);
  await readSmallBody(ctx);
  let start = 0;
  let end = source.meta.size - 1;
  const rangeHeader = ctx.req.headers['x-amz-copy-source-range'];
  if (rangeHeader !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
    if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) >= source.meta.size) {
      throw new S3Error(400, 'InvalidArgument', `Range specified is not valid for source object of size: ${source.meta.size}`, { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: rangeHeader });
    }
    [start, end] = [Number(m[1]), Number(m[2])];
  }
  if (end - start + 1 > 5 * GiB) throw new S3Error(400, 'InvalidRequest', 'The specified copy range is larger than 5 GiB');
  const file = path.join(store.dir, 'uploads', upload.id, `${number}-${crypto.randomBytes(6).toString('hex')}`);
  const md5 = await copyBytes(source, start, end, file);
  if (ctx.fault && ctx.fault.mode === 'error200') {
    fs.rmSync(file, { force: true });
    return faultAnswer(ctx);
  }
  const part = addPart(ctx, upload, number, file, end - start + 1, md5);
  sendXml(ctx, 'CopyPartResult', [el('LastModified', part.lastModified), el('ETag', `"${part.etag}"`)]);
}

async function completeMultipartUpload(ctx) {
  const bucket = store.bucket(ctx.parsed.bucket);
  const upload = store.upload(ctx.parsed.bucket, ctx.parsed.key, ctx.parsed.query.get('uploadId'));
  const body = requireRoot(await readSmallBody(ctx), 'CompleteMultipartUpload');
  const listed = xmlChildren(body, 'Part').map((part) => ({ number: Number(xmlValue(part, 'PartNumber')), etag: quoteless(xmlValue(part, 'ETag')) }));
  if (listed.length === 0 || listed.some((part) => !Number.isInteger(part.number))) {
    throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  }
  store.upload(ctx.parsed.bucket, ctx.parsed.key, upload.id); // not aborted while the body came
  const parts = [];
  for (let i = 0; i < listed.length; i++) {
    if (i > 0 && listed[i].number <= listed[i - 1].number) {
      throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', { UploadId: upload.id });
    }
    const part = upload.parts.get(listed[i].number);
    if (!part || part.etag !== listed[i].etag) {
      throw new S3Error(400, 'InvalidPart', "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", { UploadId: upload.id, PartNumber: listed[i].number, ETag: listed[i].etag });
    }
    parts.push(part);
  }
  for (const part of parts.slice(0, -1)) {
    if (part.size < options.minPartSize) {
      throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { ProposedSize: part.size, MinSizeAllowed: options.minPartSize, PartNumber: part.number, ETag: part.etag });
    }
  }
  checkWriteConditions(bucket, upload.key, ctx.req.headers);
  if (ctx.fault && ctx.fault.mode === 'error200') return faultAnswer(ctx);
  const segments = parts.map((part) => {
    const blob = bucket.newBlobPath();
    fs.renameSync(part.file, blob.full);
    return { file: blob.name, size: part.size };
  });
  const digest = crypto.createHash('md5');
  for (const part of parts) digest.update(Buffer.from(part.etag, 'hex'));
  const meta = {
    key: upload.key, lastModified: new Date().toISOString(), segments,
    size: parts.reduce((sum, part) => sum + part.size, 0), etag: `${digest.digest('hex')}-${parts.length}`,
    ...upload.attributes,
  };
  store.dropUpload(upload);
  bucket.commit(meta);
  const location = `http://${ctx.req.headers.host}/${uriEncode(bucket.name)}/${uriEncode(upload.key, true)}`;
  sendXml(ctx, 'CompleteMultipartUploadResult', [el('Location', location), el('Bucket', bucket.name), el('Key', upload.key), el('ETag', etagOf(meta))]);
}

async function abortMultipartUpload(ctx) {
  store.bucket(ctx.parsed.bucket);
  await readSmallBody(ctx);
  store.dropUpload(store.upload(ctx.parsed.bucket, ctx.parsed.key, ctx.parsed.query.get('uploadId')));
  send(ctx, 204);
}

async function listParts(ctx) {
  store.bucket(ctx.parsed.bucket);
  await readSmallBody(ctx);
  const query = ctx.parsed.query;
  const upload = store.upload(ctx.parsed.bucket, ctx.parsed.key, query.get('uploadId'));
  const max = core.maxParameter(query, 'max-parts', 1000);
  const marker = Number(query.get('part-number-marker') || 0);
  const all = [...upload.parts.values()].sort((a, b) => a.number - b.number).filter((part) => part.number > marker);
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  sendXml(ctx, 'ListPartsResult', [
    el('Bucket', upload.bucket), el('Key', upload.key), el('UploadId', upload.id),
    el('Initiator', OWNER), el('Owner', OWNER), el('StorageClass', upload.attributes.storageClass),
    el('PartNumberMarker', marker), el('NextPartNumberMarker', page.length ? page[page.length - 1].number : marker),
    el('MaxParts', max), el('IsTruncated', truncated),
    ...page.map((part) => el('Part', [el('PartNumber', part.number), el('LastModified', part.lastModified), el('ETag', `"${part.etag}"`), el('Size', part.size)])),
  ]);
}

async function listMultipartUploads(ctx) {
  const bucket = store.bucket(ctx.parsed.bucket);
  await readSmallBody(ctx);
  const query = ctx.parsed.query;
  const prefix = query.get('prefix') || '';
  const delimiter = query.get('delimiter') || '';
  const keyMarker = query.get('key-marker') || '';
  const idMarker = query.get('upload-id-marker') || '';
  const max = core.maxParameter(query, 'max-uploads', 1000);
  const all = [...store.uploads.values()]
    .filter((upload) => upload.bucket === bucket.name && upload.key.startsWith(prefix))
    .sort((a, b) => Buffer.compare(a.buf, b.buf) || (a.initiated < b.initiated ? -1 : a.initiated > b.initiated ? 1 : a.id < b.id ? -1 : 1));
  let started = !keyMarker;
  const uploads = [];
  const prefixes = [];
  let last = null;
  let truncated = false;
  for (const upload of all) {
    if (!started) {
      const order = Buffer.compare(upload.buf, Buffer.from(keyMarker));
      if (order < 0 || (order === 0 && !idMarker)) continue;
      if (order === 0 && idMarker) {
        if (upload.id === idMarker) started = true;
        continue;
      }
      started = true;
    }
    const at = delimiter ? upload.key.indexOf(delimiter, prefix.length) : -1;
    const rolled = at >= 0 ? upload.key.slice(0, at + delimiter.length) : null;
    if (rolled && last && last.prefix === rolled) continue;
    if (uploads.length + prefixes.length >= max) {
      truncated = true;
      break;
    }
    if (rolled) prefixes.push(rolled);
    else uploads.push(upload);
    last = rolled ? { prefix: rolled, key: rolled, id: '' } : { key: upload.key, id: upload.id };
  }
  sendXml(ctx, 'ListMultipartUploadsResult', [
    el('Bucket', bucket.name), el('KeyMarker', keyMarker), el('UploadIdMarker', idMarker),
    truncated ? el('NextKeyMarker', last.key) : '', truncated ? el('NextUploadIdMarker', last.id) : '',
    el('Prefix', prefix), delimiter ? el('Delimiter', delimiter) : '', el('MaxUploads', max), el('IsTruncated', truncated),
    ...uploads.map((upload) => el('Upload', [el('Key', upload.key), el('UploadId', upload.id), el('Initiator', OWNER), el('Owner', OWNER), el('StorageClass', upload.attributes.storageClass), el('Initiated', upload.initiated)])),
    ...prefixes.map((name) => el('CommonPrefixes', [el('Prefix', name)])),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Buckets and listings

function contentsXml(meta, encode, owner) {
  return el('Contents', [el('Key', encode(meta.key)), el('LastModified', meta.lastModified), el('ETag', etagOf(meta)), el('Size', meta.size), owner ? el('Owner', OWNER) : '', el('StorageClass', meta.storageClass)]);
}

function listingEncoder(query) {
  const type = query.get('encoding-type');
  if (type === undefined) return (text) => text;
  if (type !== 'url') throw new S3Error(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' });
  return (text) => uriEncode(text, true).replace(/%20/g, '+');
}

async function listObjects(ctx, version) {
  const bucket = store.bucket(ctx.parsed.bucket);
  await readSmallBody(ctx);
  const query = ctx.parsed.query;
  const prefix = query.get('prefix') || '';
  const delimiter = query.get('delimiter') || '';
  const max = core.maxParameter(query, 'max-keys', 1000);
  const encode = listingEncoder(query);
  let marker = null;
  let markerIsPrefix = false;
  const token = query.get('continuation-token');
  if (version === 2 && token !== undefined) {
    try {
      const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
      marker = decoded.m;
      markerIsPrefix = decoded.p === 1;
      if (typeof marker !== 'string') throw new Error('no marker');
    } catch {
      throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
    }
  } else if (version === 2) {
    marker = query.get('start-after') || null;
  } else {
    marker = query.get('marker') || null;
    // A v1 NextMarker that is a common prefix: resume after everything under it.
    markerIsPrefix = !!(marker && delimiter && marker.startsWith(prefix) && marker.endsWith(delimiter) && marker.indexOf(delimiter, prefix.length) === marker.length - delimiter.length);
  }
  const walk = core.walkKeys(bucket, { prefix, delimiter, marker, markerIsPrefix, max });
  const children = [el('Name', bucket.name), el('Prefix', encode(prefix))];
  if (delimiter) children.push(el('Delimiter', encode(delimiter)));
  children.push(el('MaxKeys', max), el('IsTruncated', walk.truncated));
  if (query.has('encoding-type')) children.push(el('EncodingType', 'url'));
  if (version === 2) {
    children.push(el('KeyCount', walk.contents.length + walk.prefixes.length));
    if (token !== undefined) children.push(el('ContinuationToken', token));
    if (query.has('start-after')) children.push(el('StartAfter', encode(query.get('start-after'))));
    if (walk.next) children.push(el('NextContinuationToken', Buffer.from(JSON.stringify({ m: walk.next.name, p: walk.next.prefix ? 1 : 0 })).toString('base64')));
  } else {
    children.push(el('Marker', encode(marker || '')));
    if (walk.next && delimiter) children.push(el('NextMarker', encode(walk.next.name)));
  }
  const owner = version === 1 || query.get('fetch-owner') === 'true';
  children.push(...walk.contents.map((meta) => contentsXml(meta, encode, owner)));
  children.push(...walk.prefixes.map((name) => el('CommonPrefixes', [el('Prefix', encode(name))])));
  sendXml(ctx, 'ListBucketResult', children);
}

async function bucketOperation(ctx, action) {
  const name = ctx.parsed.bucket;
  await readSmallBody(ctx);
  if (action === 'ListBuckets') {
    const buckets = [...store.buckets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    return sendXml(ctx, 'ListAllMyBucketsResult', [el('Owner', OWNER), el('Buckets', buckets.map((bucket) => el('Bucket', [el('Name', bucket.name), el('CreationDate', bucket.created)])))]);
  }
  if (action === 'CreateBucket') {
    validateBucketName(name);
    if (!store.createBucket(name)) throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: name });
    return send(ctx, 200, { Location: `/${name}` });
  }
  const bucket = store.bucket(name);
  if (action === 'HeadBucket') return send(ctx, 200, { 'x-amz-bucket-region': options.region });
  if (action === 'GetBucketLocation') return send(ctx, 200, {}, `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${options.region === 'us-east-1' ? '' : options.region}</LocationConstraint>`);
  if (bucket.objects.size || [...store.uploads.values()].some((upload) => upload.bucket === name)) {
    throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
  }
  store.buckets.delete(name);
  fs.rmSync(bucket.dir, { recursive: true, force: true });
  send(ctx, 204);
}

const OPERATIONS = {
  PutObject: putObject, GetObject: getObject, HeadObject: getObject, DeleteObject: deleteObject,
  DeleteObjects: deleteObjects, CopyObject: copyObject,
  CreateMultipartUpload: createMultipartUpload, UploadPart: uploadPart, UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload, AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts, ListMultipartUploads: listMultipartUploads,
  ListObjectsV2: (ctx) => listObjects(ctx, 2), ListObjects: (ctx) => listObjects(ctx, 1),
  ListBuckets: (ctx) => bucketOperation(ctx, 'ListBuckets'), CreateBucket: (ctx) => bucketOperation(ctx, 'CreateBucket'),
  DeleteBucket: (ctx) => bucketOperation(ctx, 'DeleteBucket'), HeadBucket: (ctx) => bucketOperation(ctx, 'HeadBucket'),
  GetBucketLocation: (ctx) => bucketOperation(ctx, 'GetBucketLocation'),
};

// ---------------------------------------------------------------------------------------------
// Faults (see s3core.js Faults)

function faultAnswer(ctx) {
  const fault = ctx.fault;
  if (fault.mode === 'error200') {
    const error = new S3Error(200, fault.code || 'InternalError', fault.message || 'We encountered an internal error. Please try again.');
    ctx.code = error.code;
    // As S3 does: 200 and whitespace first, the error once the work "failed".
    return send(ctx, 200, { 'Content-Type': 'application/xml' }, '\n    \n' + core.errorXml(error, ctx.parsed.path, ctx.id).replace(/^<\?xml[^>]*\?>\n/, ''));
  }
  if (fault.mode === 'malformed') {
    return send(ctx, 200, { 'Content-Type': 'application/xml' }, '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>broken</Name><Contents><Key>half&bogus;<Size>12</Contents');
  }
  const status = fault.status || 503;
  const defaults = { 403: ['AccessDenied', 'Access Denied'], 500: ['InternalError', 'We encountered an internal error. Please try again.'], 503: ['SlowDown', 'Please reduce your request rate.'] };
  const [code, message] = defaults[status] || ['InternalError', 'Injected error'];
  throw new S3Error(status, fault.code || code, fault.message || message);
}

async function applyFault(ctx) {
  if (ctx.req.headers['x-offsite-test-observer']) return false; // a test reading the truth
  const fault = faults.take(ctx.action, ctx.parsed.key);
  if (!fault) return false;
  ctx.fault = fault;
  switch (fault.mode) {
    case 'reset':
      ctx.status = 'reset';
      ctx.req.socket.resetAndDestroy();
      return true;
    case 'delay':
      await new Promise((resolve) => setTimeout(resolve, fault.delay_ms || 1000));
      return false;
    case 'drop':
      return false;
    case 'error200':
      // Copies and completions do their checks first, then "fail"; elsewhere fail at once.
      if (['CompleteMultipartUpload', 'CopyObject', 'UploadPartCopy'].includes(ctx.action)) return false;
      faultAnswer(ctx);
      return true;
    default:
      faultAnswer(ctx);
      return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Control: /_offsite/...

async function control(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks).toString('utf8');
  const reply = (status, value) => {
    const text = JSON.stringify(value, null, 1) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  try {
    const what = url.pathname.replace(/^\/_offsite\/?/, '');
    if (what === 'health') return reply(200, { ok: true, pid: process.pid });
    if (what === 'faults') {
      if (req.method === 'POST') {
        const value = JSON.parse(body);
        for (const rule of Array.isArray(value) ? value : [value]) faults.add(rule);
      } else if (req.method === 'DELETE') faults.rules = [];
      return reply(200, faults.rules);
    }
    if (what === 'stats') {
      if (req.method === 'DELETE') {
        stats.requests = {};
        stats.statuses = {};
        stats.bytes_in = 0;
        stats.max_parts_in_flight = 0;
        requestLog.length = 0;
      }
      return reply(200, stats);
    }
    if (what === 'log') {
      const since = Number(url.searchParams.get('since') || 0);
      const entries = requestLog.filter((entry) => entry.seq > since);
      return reply(200, entries.slice(-Number(url.searchParams.get('n') || 1000)));
    }
    if (what === 'config') {
      if (req.method === 'POST') {
        const patch = JSON.parse(body);
        for (const name of ['minPartSize', 'maxCopySize', 'maxObjectSize', 'maxSkewSeconds']) {
          const snake = name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
          if (patch[snake] !== undefined) options[name] = Number(patch[snake]);
        }
      }
      return reply(200, { min_part_size: options.minPartSize, max_copy_size: options.maxCopySize, max_object_size: options.maxObjectSize, max_skew_seconds: options.maxSkewSeconds });
    }
    if (what === 'uploads') {
      return reply(200, [...store.uploads.values()].map((upload) => ({
        bucket: upload.bucket, key: upload.key, upload_id: upload.id, initiated: upload.initiated,
        parts: [...upload.parts.values()].sort((a, b) => a.number - b.number).map((part) => ({ number: part.number, size: part.size, etag: part.etag })),
      })));
    }
    if (what === 'objects') {
      const bucket = store.bucket(url.searchParams.get('bucket') || '');
      return reply(200, bucket.sorted.map(({ key }) => {
        const meta = bucket.objects.get(key);
        return { key, size: meta.size, etag: meta.etag, parts: meta.segments.length, storage_class: meta.storageClass, sse: meta.sse, metadata: meta.metadata, content_type: meta.contentType };
      }));
    }
    return reply(404, { error: `unknown control path ${url.pathname}` });
  } catch (error) {
    return reply(400, { error: error.message });
  }
}

// ---------------------------------------------------------------------------------------------
// The request loop

async function handle(req, res) {
  if (req.url.startsWith('/_offsite/')) return control(req, res);
  const started = process.hrtime.bigint();
  const seq = nextRequestId++;
  const ctx = { seq, id: seq.toString(16).toUpperCase().padStart(16, '0'), req, res, responseHeaders: {}, status: 0, code: null };
  ctx.responseHeaders['x-amz-request-id'] = ctx.id;
  ctx.responseHeaders['x-amz-id-2'] = ctx.id;
  ctx.responseHeaders.Server = 'offsite-test-s3';
  res.on('close', () => record(ctx, started));
  try {
    ctx.parsed = parseRequest(req);
    ctx.action = actionOf(req.method, ctx.parsed, req.headers);
    ctx.auth = auth.check(req, ctx.parsed);
    if (ctx.action === 'UploadPart') {
      ctx.uploadId = ctx.parsed.query.get('uploadId') || '';
      const now = (partsInFlight.get(ctx.uploadId) || 0) + 1;
      partsInFlight.set(ctx.uploadId, now);
      stats.max_parts_in_flight = Math.max(stats.max_parts_in_flight, now);
    }
    if (await applyFault(ctx)) return;
    const operation = OPERATIONS[ctx.action];
    if (!operation) throw new S3Error(501, 'NotImplemented', `A header or query you provided implies functionality that is not implemented (${ctx.action} ${req.method})`);
    await operation(ctx);
  } catch (error) {
    sendError(ctx, error);
  }
}

function record(ctx, started) {
  const action = ctx.action || 'Invalid';
  if (ctx.uploadId !== undefined) {
    const left = partsInFlight.get(ctx.uploadId) - 1;
    if (left > 0) partsInFlight.set(ctx.uploadId, left); else partsInFlight.delete(ctx.uploadId);
  }
  stats.requests[action] = (stats.requests[action] || 0) + 1;
  const byStatus = (stats.statuses[action] = stats.statuses[action] || {});
  const status = ctx.status || (ctx.res.writableFinished ? ctx.res.statusCode : 'aborted');
  byStatus[status] = (byStatus[status] || 0) + 1;
  const entry = {
    seq: ctx.seq, id: ctx.id, method: ctx.req.method, action, bucket: ctx.parsed && ctx.parsed.bucket, key: ctx.parsed && ctx.parsed.key,
    part: ctx.parsed && ctx.parsed.query.get('partNumber'), status, code: ctx.code,
    fault: ctx.fault ? ctx.fault.mode : undefined, ms: Number(process.hrtime.bigint() - started) / 1e6,
    payload: ctx.auth ? (ctx.auth.payloadHash === 'UNSIGNED-PAYLOAD' ? 'unsigned' : 'signed') : undefined,
  };
  requestLog.push(entry);
  stats.last_seq = Math.max(stats.last_seq, ctx.seq);
  if (requestLog.length > 200000) requestLog.splice(0, 100000);
  if (logStream) logStream.write(JSON.stringify(entry) + '\n');
}

function makeCertificates(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = (name) => path.join(dir, name);
  if (fs.existsSync(file('server.pem'))) return;
  const run = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '30', '-subj', '/CN=offsite test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.pem'), '-days', '30', '-extfile', file('server.ext')]);
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host, () => resolve(server.address().port));
  });
}

async function main(argv) {
  try {
    options = core.parseOptions(argv);
  } catch (error) {
    console.error(`server.js: ${error.message}`);
    process.exit(2);
  }
  store = new core.Store(options.dir);
  auth = new core.Authenticator(options);
  for (const name of options.buckets) {
    validateBucketName(name);
    store.createBucket(name);
  }
  if (options.log) logStream = fs.createWriteStream(options.log, { flags: 'a' });
  const serverOptions = { requestTimeout: 0, keepAliveTimeout: 20000 };
  const servers = [];
  const setUp = (server) => {
    server.on('checkContinue', (req, res) => {
      req.expectsContinue = true;
      handle(req, res);
    });
    servers.push(server);
    return server;
  };
  const ready = { pid: process.pid, host: options.host, http_port: await listen(setUp(http.createServer(serverOptions, handle)), options.port) };
  if (options.httpsPort !== null) {
    makeCertificates(options.tlsDir || path.join(options.dir, 'tls'));
    const tlsDir = options.tlsDir || path.join(options.dir, 'tls');
    const tls = { ...serverOptions, key: fs.readFileSync(path.join(tlsDir, 'server.key')), cert: fs.readFileSync(path.join(tlsDir, 'server.pem')) };
    ready.https_port = await listen(setUp(https.createServer(tls, handle)), options.httpsPort);
    ready.ca_file = path.resolve(tlsDir, 'ca.pem');
  }
  const stop = () => {
    for (const server of servers) server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (options.readyFile) {
    fs.writeFileSync(options.readyFile + '.tmp', JSON.stringify(ready) + '\n');
    fs.renameSync(options.readyFile + '.tmp', options.readyFile);
  }
  console.log(JSON.stringify(ready));
}

main(process.argv.slice(2));
