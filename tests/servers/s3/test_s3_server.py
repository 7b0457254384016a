#!/usr/bin/env python3
"""Proves the S3 test server checks what it claims (README.md): a right signature is accepted
and a wrong secret, a tampered payload, query or header is refused; multipart calls, copies with
awkward keys, listing order and paging, atomic PUTs and fault rules behave as on AWS. Clients: our
own signer (s3test.py), and as independent signers curl's --aws-sigv4 and rclone (aws-sdk-go)
when installed. Exit 1 on any failure, 77 when node is missing."""

import base64
import datetime
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3test import NS, S3Server, wait_for  # noqa: E402

failures = []
passed = 0


def check(condition, what, detail=""):
    global passed
    if condition:
        passed += 1
        print(f"  ok    {what}", flush=True)
    else:
        failures.append(what)
        print(f"  FAIL  {what}" + (f"\n        | {str(detail)[:600]}" if detail != "" else ""), flush=True)
    return condition


def keys_of(response):
    root = response.xml()
    return ([c.findtext(f"{NS}Key") for c in root.findall(f"{NS}Contents")],
            [p.findtext(f"{NS}Prefix") for p in root.findall(f"{NS}CommonPrefixes")], root)


def utf8_sorted(keys):
    return sorted(keys, key=lambda k: k.encode())


def test_signatures(server, c, bucket):
    print("signatures and payloads")
    r = c.put(bucket, "sig/ok.txt", b"hello")
    check(r.status == 200 and r.headers.get("etag") == '"%s"' % hashlib.md5(b"hello").hexdigest(),
          "a correctly signed PUT is accepted; ETag is the MD5", r)
    r = c.get(bucket, "sig/ok.txt")
    check(r.status == 200 and r.body == b"hello", "a correctly signed GET returns the bytes", r)
    r = c.put(bucket, "sig/bad.txt", b"x", secret=server.secret_key + "x")
    check(r.status == 403 and r.error_code() == "SignatureDoesNotMatch", "a wrong secret: 403 SignatureDoesNotMatch", r)
    check(server.secret_key.encode() not in r.body, "the error body does not carry the secret")
    r = c.get(bucket, "sig/ok.txt", secret="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    check(r.status == 403 and r.error_code() == "SignatureDoesNotMatch", "a GET with another secret is refused", r)
    r = c.put(bucket, "sig/tampered.txt", b"the real body", payload_hash=hashlib.sha256(b"another body").hexdigest())
    check(r.status == 400 and r.error_code() == "XAmzContentSHA256Mismatch", "a body not matching x-amz-content-sha256: 400 XAmzContentSHA256Mismatch", r)
    check(c.head(bucket, "sig/tampered.txt").status == 404, "and nothing was stored")
    r = c.put(bucket, "sig/unsigned-payload.txt", b"abc", payload_hash="UNSIGNED-PAYLOAD")
    check(r.status == 200, "UNSIGNED-PAYLOAD is accepted", r)
    r = c.put(bucket, "sig/md5.txt", b"abc", headers={"Content-MD5": base64.b64encode(hashlib.md5(b"abd").digest()).decode()})
    check(r.status == 400 and r.error_code() == "BadDigest", "a wrong Content-MD5: 400 BadDigest", r)
    r = c.put(bucket, "sig/md5.txt", b"abc", headers={"Content-MD5": base64.b64encode(hashlib.md5(b"abc").digest()).decode()})
    check(r.status == 200, "a right Content-MD5 is accepted", r)
    r = c.put(bucket, "sig/sum.txt", b"abc", headers={"x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(b"abd").digest()).decode()})
    check(r.status == 400 and r.error_code() == "BadDigest", "a wrong x-amz-checksum-sha256: 400 BadDigest", r)
    r = c.put(bucket, "sig/meta.txt", b"abc", headers={"x-amz-meta-a": "1"}, after_signing={"x-amz-meta-a": "2"})
    check(r.status == 403 and r.error_code() == "SignatureDoesNotMatch", "a signed header changed after signing is refused", r)
    r = c.put(bucket, "sig/meta.txt", b"abc", after_signing={"x-amz-meta-b": "2"})
    check(r.status == 403 and r.error_code() == "AccessDenied", "an x-amz-* header that is not signed is refused", r)
    r = c.request("GET", bucket, query=[("list-type", "2"), ("prefix", "sig/")], after_signing={})
    check(r.status == 200, "a signed listing with a query is accepted", r)
    tampered = c.request("GET", bucket, query=[("list-type", "2"), ("prefix", "sig/")], sign=False,
                         headers=c.sign("GET", f"/{bucket}", [("list-type", "2"), ("prefix", "other/")], {}, hashlib.sha256(b"").hexdigest()))
    check(tampered.status == 403 and tampered.error_code() == "SignatureDoesNotMatch", "a query changed after signing is refused", tampered)
    r = c.get(bucket, "sig/ok.txt", sign=False)
    check(r.status == 403 and r.error_code() == "AccessDenied", "an unsigned request is refused", r)
    r = c.get(bucket, "sig/ok.txt", when=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20))
    check(r.status == 403 and r.error_code() == "RequestTimeTooSkewed", "a request 20 minutes old: RequestTimeTooSkewed", r)
    other_key = S3Server.__new__(S3Server)
    other = type(c)(server.endpoint, "NOSUCHKEY", server.secret_key)
    r = other.get(bucket, "sig/ok.txt")
    check(r.status == 403 and r.error_code() == "InvalidAccessKeyId", "an unknown access key: InvalidAccessKeyId", r)
    other = type(c)(server.endpoint, server.access_key, server.secret_key, region="eu-west-1")
    r = other.get(bucket, "sig/ok.txt")
    check(r.status == 400 and r.error_code() == "AuthorizationHeaderMalformed", "a wrong region: AuthorizationHeaderMalformed", r)
    del other_key

    url = c.presign("GET", bucket, "sig/ok.txt")
    r = c.raw("GET", url, {})
    check(r.status == 200 and r.body == b"hello", "a presigned GET works", r)
    r = c.raw("GET", c.presign("GET", bucket, "sig/ok.txt", secret="nope"), {})
    check(r.status == 403 and r.error_code() == "SignatureDoesNotMatch", "a presigned URL with another secret is refused", r)
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=120)
    r = c.raw("GET", c.presign("GET", bucket, "sig/ok.txt", expires=60, when=old), {})
    check(r.status == 403 and r.error_code() == "AccessDenied", "an expired presigned URL is refused", r)
    r = c.raw("GET", c.presign("GET", bucket, "sig/ok.txt").replace("sig/ok.txt", "sig/md5.txt"), {})
    check(r.status == 403, "a presigned URL used for another key is refused", r)

    tls = server.client(https=True)
    r = tls.put(bucket, "sig/tls.txt", b"over tls")
    check(r.status == 200 and tls.get(bucket, "sig/tls.txt").body == b"over tls", "HTTPS with the test CA works", r)
    tls.close()

    curl = shutil.which("curl")
    if curl:
        base = [curl, "-s", "-o", "-", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
                "-H", f"x-amz-content-sha256: {hashlib.sha256(b'').hexdigest()}"]
        good = subprocess.run(base + ["--user", f"{server.access_key}:{server.secret_key}",
                                      f"{server.endpoint}/{bucket}/sig/ok.txt"], capture_output=True, timeout=30)
        check(good.stdout.endswith(b"hello\n200"), "curl --aws-sigv4 (an independent signer) is accepted", good.stdout)
        bad = subprocess.run(base + ["--user", f"{server.access_key}:wrong-secret",
                                     f"{server.endpoint}/{bucket}/sig/ok.txt"], capture_output=True, timeout=30)
        check(bad.stdout.endswith(b"403") and b"SignatureDoesNotMatch" in bad.stdout, "curl with a wrong secret gets 403", bad.stdout)


def test_atomic_put(server, c, bucket):
    print("atomic PUT")
    host, port = "127.0.0.1", server.info["http_port"]
    body = os.urandom(1 << 20)
    headers = c.sign("PUT", f"/{bucket}/atomic/half", [], {}, hashlib.sha256(body).hexdigest())
    with socket.create_connection((host, port)) as sock:
        lines = [f"PUT /{bucket}/atomic/half HTTP/1.1", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[: len(body) // 2])
        time.sleep(0.2)
    time.sleep(0.2)
    check(c.head(bucket, "atomic/half").status == 404, "a PUT cut off half way leaves no object")
    tmp = os.path.join(server.info["data_dir"], "tmp")
    check(wait_for(lambda: os.listdir(tmp) == [], 5), "and no temporary file", os.listdir(tmp))
    c.put(bucket, "atomic/old", b"old version")
    r = c.put(bucket, "atomic/old", b"new", payload_hash=hashlib.sha256(b"neu").hexdigest())
    check(r.status == 400 and c.get(bucket, "atomic/old").body == b"old version", "a failed replacement leaves the old version readable", r)
    r = c.request("PUT", bucket, "atomic/none", body=b"", headers={"If-None-Match": "*"})
    r2 = c.request("PUT", bucket, "atomic/none", body=b"x", headers={"If-None-Match": "*"})
    check(r.status == 200 and r2.status == 412, "If-None-Match: * creates only", (r, r2))


def test_multipart(server, c, bucket):
    print("multipart")
    server.configure(min_part_size=64 * 1024)
    key = "mp/big file+&.bin"
    upload = c.create_multipart(bucket, key)
    parts = [os.urandom(64 * 1024), os.urandom(64 * 1024), os.urandom(1000)]
    etags = []
    for number, data in enumerate(parts, 1):
        r = c.upload_part(bucket, key, upload, number, data)
        etags.append(r.headers.get("etag"))
        check(r.status == 200 and etags[-1] == '"%s"' % hashlib.md5(data).hexdigest(), f"part {number} uploaded, ETag its MD5", r)
    r = c.upload_part(bucket, key, upload, 4, b"x", payload_hash=hashlib.sha256(b"y").hexdigest())
    check(r.status == 400 and r.error_code() == "XAmzContentSHA256Mismatch", "a part with a wrong payload hash is refused", r)
    r = c.upload_part(bucket, key, upload, 10001, b"x")
    check(r.status == 400 and r.error_code() == "InvalidArgument", "part number 10001 is refused", r)
    r = c.list_parts(bucket, key, upload, max_parts=2)
    root = r.xml()
    numbers = [int(p.findtext(f"{NS}PartNumber")) for p in root.findall(f"{NS}Part")]
    check(numbers == [1, 2] and root.findtext(f"{NS}IsTruncated") == "true" and root.findtext(f"{NS}NextPartNumberMarker") == "2",
          "ListParts pages (max-parts=2)", r)
    r = c.list_parts(bucket, key, upload, part_number_marker=2)
    rest = [(int(p.findtext(f"{NS}PartNumber")), int(p.findtext(f"{NS}Size"))) for p in r.xml().findall(f"{NS}Part")]
    check(rest == [(3, 1000)], "ListParts from a marker", r)
    r = c.list_uploads(bucket, prefix="mp/")
    listed = [(u.findtext(f"{NS}Key"), u.findtext(f"{NS}UploadId")) for u in r.xml().findall(f"{NS}Upload")]
    check(listed == [(key, upload)], "ListMultipartUploads lists it", r)
    r = c.complete(bucket, key, upload, [(2, etags[1]), (1, etags[0]), (3, etags[2])])
    check(r.status == 400 and r.error_code() == "InvalidPartOrder", "Complete with parts out of order: InvalidPartOrder", r)
    r = c.complete(bucket, key, upload, [(1, etags[0]), (2, '"0123"'), (3, etags[2])])
    check(r.status == 400 and r.error_code() == "InvalidPart", "Complete with a wrong ETag: InvalidPart", r)
    r = c.complete(bucket, key, upload, [(1, etags[0]), (3, etags[2]), (5, etags[2])])
    check(r.status == 400 and r.error_code() == "InvalidPart", "Complete with a missing part: InvalidPart", r)
    small = c.create_multipart(bucket, "mp/small")
    e1 = c.upload_part(bucket, "mp/small", small, 1, b"tiny").headers["etag"]
    e2 = c.upload_part(bucket, "mp/small", small, 2, b"last").headers["etag"]
    r = c.complete(bucket, "mp/small", small, [(1, e1), (2, e2)])
    check(r.status == 400 and r.error_code() == "EntityTooSmall", "a small part that is not the last: EntityTooSmall", r)
    r = c.complete(bucket, key, upload, [(1, etags[0]), (2, etags[1]), (3, etags[2])])
    expected_etag = '"%s-3"' % hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    check(r.status == 200 and r.xml().findtext(f"{NS}ETag") == expected_etag, "Complete works; ETag is MD5 of the MD5s, -3", r)
    g = c.get(bucket, key)
    check(g.body == b"".join(parts) and g.headers.get("etag") == expected_etag, "the object is the parts joined")
    g = c.get(bucket, key, headers={"Range": "bytes=65530-65545"})
    check(g.status == 206 and g.body == b"".join(parts)[65530:65546], "a range across two parts", g)
    r = c.complete(bucket, key, upload, [(1, etags[0]), (2, etags[1]), (3, etags[2])])
    check(r.status == 404 and r.error_code() == "NoSuchUpload", "a completed upload is gone (NoSuchUpload)", r)
    r = c.abort(bucket, "mp/small", small)
    check(r.status == 204, "AbortMultipartUpload: 204", r)
    r = c.abort(bucket, "mp/small", small)
    check(r.status == 404 and r.error_code() == "NoSuchUpload", "aborting again: NoSuchUpload", r)
    r = c.upload_part(bucket, "mp/small", small, 3, b"late")
    check(r.status == 404, "a part for an aborted upload: NoSuchUpload", r)
    check(server.uploads() == [] and b"<Upload>" not in c.list_uploads(bucket).body, "no upload is left")

    copy = c.create_multipart(bucket, "mp/copied")
    r = c.request("PUT", bucket, "mp/copied", query=[("partNumber", "1"), ("uploadId", copy)],
                  headers={"x-amz-copy-source": f"/{bucket}/mp/big%20file%2B%26.bin", "x-amz-copy-source-range": "bytes=100-65635"})
    e1 = r.xml().findtext(f"{NS}ETag") if r.status == 200 else None
    check(r.status == 200 and e1 == '"%s"' % hashlib.md5(b"".join(parts)[100:65636]).hexdigest(), "UploadPartCopy with a range", r)
    r = c.request("PUT", bucket, "mp/copied", query=[("partNumber", "2"), ("uploadId", copy)],
                  headers={"x-amz-copy-source": f"/{bucket}/mp/big%20file%2B%26.bin", "x-amz-copy-source-range": "bytes=0-999999"})
    check(r.status == 400 and r.error_code() == "InvalidArgument", "a copy range beyond the source is refused", r)
    r = c.complete(bucket, "mp/copied", copy, [(1, e1)])
    check(r.status == 200 and c.get(bucket, "mp/copied").body == b"".join(parts)[100:65636], "a copied-part upload completes", r)
    server.configure(min_part_size=5 << 20)


def test_copy(server, c, bucket):
    print("CopyObject")
    awkward = ["a b/c+d&e=f,g;h:i@j$k%l ü €.txt", "x?y#z", "percent%2Fslash", "quote'\"<tag>&amp;"]
    for number, key in enumerate(awkward):
        c.put(bucket, f"copy/src/{key}", f"content {number}".encode(), headers={"x-amz-meta-n": str(number)})
        r = c.copy(bucket, f"copy/dst/{key}", bucket, f"copy/src/{key}")
        g = c.get(bucket, f"copy/dst/{key}")
        check(r.status == 200 and g.body == f"content {number}".encode() and g.headers.get("x-amz-meta-n") == str(number),
              f"copy of {key!r} keeps bytes and metadata", r)
    r = c.copy(bucket, "copy/src/x?y#z", bucket, "copy/src/x?y#z")
    check(r.status == 400 and r.error_code() == "InvalidRequest", "a copy onto itself without changes is refused", r)
    r = c.copy(bucket, "copy/src/x?y#z", bucket, "copy/src/x?y#z", headers={"x-amz-metadata-directive": "REPLACE", "x-amz-meta-new": "1"})
    check(r.status == 200 and c.head(bucket, "copy/src/x?y#z").headers.get("x-amz-meta-new") == "1", "a copy onto itself with REPLACE works", r)
    r = c.copy(bucket, "copy/none", bucket, "copy/missing")
    check(r.status == 404 and r.error_code() == "NoSuchKey", "copying a missing key: NoSuchKey", r)
    server.configure(max_copy_size=5)
    r = c.copy(bucket, "copy/too-big", bucket, "copy/src/" + awkward[0])
    check(r.status == 400 and r.error_code() == "InvalidRequest", "a source above max_copy_size is refused (as above 5 GiB)", r)
    server.configure(max_copy_size=5 << 30)


def test_listing(server, c, bucket):
    print("listing")
    keys = [f"list/k{n:04d}" for n in range(1010)]
    keys += ["list/\uff21", "list/\U0001f600", "list/\u00e9", "list/Z", "list/a/1", "list/a/2", "list/b/1",
             "list/a b", "list/a+b", "list/a/b/c"]
    for key in keys:
        assert c.put(bucket, key, b"").status == 200
    r = c.list_v2(bucket, prefix="list/")
    first, _, root = keys_of(r)
    check(len(first) == 1000 and root.findtext(f"{NS}IsTruncated") == "true", "a 1020-key listing: first page 1000 keys, truncated")
    token = root.findtext(f"{NS}NextContinuationToken")
    second, _, root = keys_of(c.list_v2(bucket, prefix="list/", continuation_token=token))
    check(first + second == utf8_sorted(keys) and root.findtext(f"{NS}IsTruncated") == "false",
          "the second page completes it, in UTF-8 byte order (U+FF21 before U+1F600)", (first + second)[-12:])
    whole = []
    prefixes = []
    token = None
    pages = 0
    while True:
        params = {"prefix": "list/", "delimiter": "/", "max_keys": 7}
        if token:
            params["continuation_token"] = token
        got, cps, root = keys_of(c.list_v2(bucket, **params))
        whole += got
        prefixes += cps
        pages += 1
        if root.findtext(f"{NS}IsTruncated") != "true":
            break
        token = root.findtext(f"{NS}NextContinuationToken")
    flat = utf8_sorted(k for k in keys if "/" not in k[5:])
    check(whole == flat and prefixes == ["list/a/", "list/b/"] and pages == (len(flat) + 2 + 6) // 7,
          "paging by 7 with delimiter '/': every key once, prefixes once", (len(whole), len(flat), prefixes, pages))
    got, cps, _ = keys_of(c.list_v2(bucket, prefix="list/a", delimiter="/"))
    check(got == ["list/a b", "list/a+b"] and cps == ["list/a/"], "prefix + delimiter", (got, cps))
    got, _, _ = keys_of(c.list_v2(bucket, prefix="list/", start_after="list/k1008"))
    check(got == utf8_sorted(keys)[utf8_sorted(keys).index("list/k1008") + 1:], "start-after")
    r = c.list_v2(bucket, prefix="list/a ", encoding_type="url")
    check(b"<Key>list/a+b</Key>" in r.body, "encoding-type=url encodes keys", r.body[-300:])
    r = c.list_v2(bucket, continuation_token="garbage")
    check(r.status == 400, "a bad continuation token: 400", r)
    v1 = []
    marker = ""
    while True:
        r = c.request("GET", bucket, query=[("prefix", "list/"), ("delimiter", "/"), ("max-keys", "300"), ("marker", marker)])
        got, cps, root = keys_of(r)
        v1 += got + cps
        if root.findtext(f"{NS}IsTruncated") != "true":
            break
        marker = root.findtext(f"{NS}NextMarker")
    check(v1 == flat + ["list/a/", "list/b/"] or sorted(v1) == sorted(flat + ["list/a/", "list/b/"]) and len(v1) == len(flat) + 2,
          "ListObjects v1 pages with NextMarker", len(v1))
    r = c.request("POST", bucket, query=[("delete", "")], body=b"<Delete><Object><Key>list/Z</Key></Object></Delete>")
    check(r.status == 400, "DeleteObjects without Content-MD5 is refused", r)
    body = "<Delete>" + "".join(f"<Object><Key>{k}</Key></Object>" for k in keys[:500]) + "</Delete>"
    r = c.request("POST", bucket, query=[("delete", "")], body=body.encode(),
                  headers={"Content-MD5": base64.b64encode(hashlib.md5(body.encode()).digest()).decode()})
    check(r.status == 200 and len(r.xml().findall(f"{NS}Deleted")) == 500, "DeleteObjects deletes 500 keys", r)
    got, _, _ = keys_of(c.list_v2(bucket, prefix="list/k"))
    check(got == [f"list/k{n:04d}" for n in range(500, 1010)], "they are gone from the listing")


def test_faults(server, c, bucket):
    print("faults")
    server.add_fault(action="PutObject", mode="status", status=503, count=2)
    statuses = [c.put(bucket, "fault/p", b"x").status for _ in range(3)]
    check(statuses == [503, 503, 200], "503 SlowDown for the next 2 PUTs, then normal", statuses)
    server.add_fault(action="DeleteObject", mode="status", status=403)
    r = c.delete(bucket, "fault/p")
    check(r.status == 403 and r.error_code() == "AccessDenied" and c.head(bucket, "fault/p").status == 200,
          "403 AccessDenied for one DeleteObject; nothing deleted", r)
    server.add_fault(action="ListObjectsV2", mode="malformed")
    r = c.list_v2(bucket, prefix="fault/")
    try:
        r.xml()
        parsed = True
    except ET.ParseError:
        parsed = False
    check(r.status == 200 and not parsed, "malformed XML for a listing", r)
    upload = c.create_multipart(bucket, "fault/mp")
    etag = c.upload_part(bucket, "fault/mp", upload, 1, b"only part").headers["etag"]
    server.add_fault(action="CompleteMultipartUpload", mode="error200")
    r = c.complete(bucket, "fault/mp", upload, [(1, etag)])
    check(r.status == 200 and r.error_code() == "InternalError" and c.head(bucket, "fault/mp").status == 404,
          "CompleteMultipartUpload: 200 with an error body, nothing completed", r)
    r = c.complete(bucket, "fault/mp", upload, [(1, etag)])
    check(r.status == 200 and c.get(bucket, "fault/mp").body == b"only part", "the retried Complete works", r)
    server.add_fault(action="CopyObject", mode="error200")
    r = c.copy(bucket, "fault/copy", bucket, "fault/p")
    check(r.status == 200 and r.error_code() == "InternalError" and c.head(bucket, "fault/copy").status == 404,
          "CopyObject: 200 with an error body, nothing copied", r)
    server.add_fault(action="PutObject", mode="drop", prefix="fault/dropped")
    try:
        c.close()
        r = c.put(bucket, "fault/dropped", b"stored anyway")
        outcome = r.status
    except (ConnectionError, OSError) as error:
        outcome = type(error).__name__
    check(outcome != 200 and c.get(bucket, "fault/dropped").body == b"stored anyway",
          "drop: the PUT is carried out but its answer is lost", outcome)
    stats = server.stats()
    check(stats["statuses"]["PutObject"].get("503") == 2, "stats count the 503s", stats["statuses"].get("PutObject"))
    check(server.faults() == [], "every fault rule was used up")


def test_rclone(server, bucket, workdir):
    rclone = shutil.which("rclone")
    if not rclone:
        print("  skip  rclone is not installed")
        return
    print("rclone (aws-sdk-go signing, multipart, HTTPS)")
    source = os.path.join(workdir, "rclone-src")
    os.makedirs(os.path.join(source, "d"))
    with open(os.path.join(source, "d", "big"), "wb") as out:
        out.write(os.urandom(12 << 20))
    with open(os.path.join(source, "d", "sp ace+&=.txt"), "w") as out:
        out.write("small")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update({"RCLONE_CONFIG_T_TYPE": "s3", "RCLONE_CONFIG_T_PROVIDER": "Other",
                "RCLONE_CONFIG_T_ACCESS_KEY_ID": server.access_key, "RCLONE_CONFIG_T_SECRET_ACCESS_KEY": server.secret_key,
                "RCLONE_CONFIG_T_ENDPOINT": server.https_endpoint, "RCLONE_CONFIG_T_REGION": "us-east-1",
                "RCLONE_CONFIG_T_FORCE_PATH_STYLE": "true", "RCLONE_CONFIG": os.path.join(workdir, "rclone.conf")})
    common = ["--ca-cert", server.ca_file, "--s3-chunk-size", "5M", "--s3-upload-cutoff", "5M", "-q"]
    sync = subprocess.run([rclone, "sync", source, f"t:{bucket}/rclone", *common], capture_output=True, text=True, env=env, timeout=120)
    verify = subprocess.run([rclone, "check", source, f"t:{bucket}/rclone", *common], capture_output=True, text=True, env=env, timeout=120)
    check(sync.returncode == 0 and verify.returncode == 0, "rclone sync + check against the server", sync.stderr + verify.stderr)
    env["RCLONE_CONFIG_T_SECRET_ACCESS_KEY"] = "wrong"
    bad = subprocess.run([rclone, "lsf", f"t:{bucket}", *common, "--retries", "1", "--low-level-retries", "1"],
                         capture_output=True, text=True, env=env, timeout=120)
    check(bad.returncode != 0 and "SignatureDoesNotMatch" in bad.stderr, "rclone with a wrong secret is refused", bad.stderr[-300:])


def main():
    if not shutil.which("node"):
        print("node is not installed: skipped")
        sys.exit(77)
    workdir = tempfile.mkdtemp(prefix="offsite-s3srv-")
    server = S3Server.start(os.path.join(workdir, "run"))
    started = time.monotonic()
    try:
        c = server.client()
        bucket = server.bucket
        test_signatures(server, c, bucket)
        test_atomic_put(server, c, bucket)
        test_multipart(server, c, bucket)
        test_copy(server, c, bucket)
        test_listing(server, c, bucket)
        test_faults(server, c, bucket)
        test_rclone(server, bucket, workdir)
        c.close()
        check(server.alive(), "the server survived it all")
        with open(os.path.join(server.run_dir, "server.out")) as source:
            out = source.read()
        check("Error" not in out and "rror:" not in out, "the server logged no internal error", out[-800:])
    finally:
        server.stop()
        pid_gone = not server.alive()
        shutil.rmtree(workdir, ignore_errors=True)
    check(pid_gone, "stop.sh stopped it by PID")
    elapsed = time.monotonic() - started
    if failures:
        print(f"s3 server: {len(failures)} check(s) FAILED, {passed} passed, {elapsed:.1f}s")
        for failure in failures:
            print(f"  - {failure}")
        sys.exit(1)
    print(f"s3 server: all {passed} checks passed, {elapsed:.1f}s")


if __name__ == "__main__":
    main()
