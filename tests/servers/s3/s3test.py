"""Python side of the S3 test server: start and stop it by PID (S3Server), steer its faults, and
talk S3 to it with a small SigV4 client of our own (S3Client), standard library only.

    server = S3Server.start(run_dir)             # tests/servers/s3/start.sh RUN_DIR
    client = server.client()                     # or server.client(https=True)
    client.put("offsite-test", "a/b", b"data")
    server.add_fault(action="CompleteMultipartUpload", mode="error200")
    server.uploads()                             # open multipart uploads, from /_offsite/uploads
    server.stop()

The client signs as AWS documents (path segments and query URI-encoded once, query sorted,
`x-amz-content-sha256` the body's SHA-256 unless told otherwise) and can be told to get things
wrong on purpose (another secret, a payload hash that does not match, a header added after
signing) so the server's checks can be proved.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def quote(text, safe="-_.~"):
    return urllib.parse.quote(text, safe=safe)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def xml(self):
        return ET.fromstring(self.body)

    def error_code(self):
        try:
            return ET.fromstring(self.body).findtext("Code")
        except ET.ParseError:
            return None

    def __repr__(self):
        return f"<{self.status} {self.error_code() or ''} {self.body[:300]!r}>"


class S3Client:
    def __init__(self, endpoint, access_key, secret_key, region="us-east-1", ca_file=None,
                 session_token=None, observer=False):
        """observer: the server's fault rules never apply to this client's requests (a test
        reading what the bucket really holds while faults are set for the client under test)."""
        self.observer = observer
        parsed = urllib.parse.urlsplit(endpoint)
        self.https = parsed.scheme == "https"
        self.host = parsed.hostname
        self.port = parsed.port
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.session_token = session_token
        self.context = ssl.create_default_context(cafile=ca_file) if self.https else None
        self.connection = None

    # --- signing -------------------------------------------------------------------------------

    def sign(self, method, path, query_pairs, headers, payload_hash, when=None, secret=None):
        """Adds x-amz-date, x-amz-content-sha256 and Authorization to headers (a dict)."""
        when = when or datetime.datetime.now(datetime.timezone.utc)
        amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        headers["host"] = f"{self.host}:{self.port}"
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = payload_hash
        if self.session_token:
            headers["x-amz-security-token"] = self.session_token
        names = sorted(name.lower() for name in headers)
        lowered = {name.lower(): " ".join(str(value).split()) for name, value in headers.items()}
        canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in names)
        signed = ";".join(names)
        canonical_query = "&".join(f"{n}={v}" for n, v in sorted((quote(n), quote(v)) for n, v in query_pairs))
        canonical = "\n".join([method, quote(path, safe="/-_.~"), canonical_query, canonical_headers,
                               signed, payload_hash])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.new(self.signing_key(day, secret), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={signature}")
        return headers

    def signing_key(self, day, secret=None):
        key = ("AWS4" + (secret or self.secret_key)).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return key

    def presign(self, method, bucket, key="", expires=300, when=None, secret=None, query=()):
        when = when or datetime.datetime.now(datetime.timezone.utc)
        amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        scope = f"{amz_date[:8]}/{self.region}/s3/aws4_request"
        pairs = list(query) + [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                               ("X-Amz-Credential", f"{self.access_key}/{scope}"),
                               ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(expires)),
                               ("X-Amz-SignedHeaders", "host")]
        path = f"/{bucket}/{key}" if key else f"/{bucket}"
        canonical_query = "&".join(f"{n}={v}" for n, v in sorted((quote(n), quote(v)) for n, v in pairs))
        canonical = "\n".join([method, quote(path, safe="/-_.~"), canonical_query,
                               f"host:{self.host}:{self.port}\n", "host", "UNSIGNED-PAYLOAD"])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.new(self.signing_key(amz_date[:8], secret), to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{quote(path, safe='/-_.~')}?{canonical_query}&X-Amz-Signature={signature}"

    # --- requests ------------------------------------------------------------------------------

    def connect(self):
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=60)
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def raw(self, method, target, headers, body=b""):
        """Sends exactly this request line and headers; keeps one connection alive."""
        for _attempt in (0, 1):
            reused = self.connection is not None
            if not reused:
                self.connection = self.connect()
            try:
                self.connection.request(method, target, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                result = Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return result
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if not reused:  # only a kept-alive connection the server closed is retried
                    raise

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(self, method, bucket="", key="", query=(), headers=None, body=b"", payload_hash=None,
                secret=None, when=None, sign=True, after_signing=None):
        """query: pairs (name, value); value "" gives "name=" (valueless sub-resources too)."""
        query = list(query.items()) if isinstance(query, dict) else list(query)
        path = "/" + bucket + ("/" + key if key else "") if bucket else "/"
        headers = dict(headers or {})
        if sign:
            digest = payload_hash if payload_hash is not None else hashlib.sha256(body).hexdigest()
            self.sign(method, path, query, headers, digest, when=when, secret=secret)
        if after_signing:
            headers.update(after_signing)
        target = quote(path, safe="/-_.~")
        if query:
            target += "?" + "&".join(f"{quote(n)}={quote(v)}" for n, v in query)
        headers.pop("host", None)  # http.client sends the same Host itself
        if self.observer:
            headers["x-offsite-test-observer"] = "1"
        return self.raw(method, target, headers, body)

    # --- operations ----------------------------------------------------------------------------

    def put(self, bucket, key, body, headers=None, **kwargs):
        return self.request("PUT", bucket, key, headers=headers, body=body, **kwargs)

    def get(self, bucket, key, headers=None, **kwargs):
        return self.request("GET", bucket, key, headers=headers, **kwargs)

    def head(self, bucket, key, **kwargs):
        return self.request("HEAD", bucket, key, **kwargs)

    def delete(self, bucket, key, **kwargs):
        return self.request("DELETE", bucket, key, **kwargs)

    def copy(self, bucket, key, source_bucket, source_key, headers=None):
        headers = dict(headers or {})
        headers["x-amz-copy-source"] = quote(f"/{source_bucket}/{source_key}", safe="/-_.~")
        return self.request("PUT", bucket, key, headers=headers)

    def list_v2(self, bucket, **params):
        query = [("list-type", "2")] + [(name.replace("_", "-"), str(value)) for name, value in params.items()]
        return self.request("GET", bucket, query=query)

    def create_multipart(self, bucket, key, headers=None):
        response = self.request("POST", bucket, key, query=[("uploads", "")], headers=headers)
        assert response.status == 200, response
        return response.xml().findtext(f"{NS}UploadId")

    def upload_part(self, bucket, key, upload_id, number, body, **kwargs):
        return self.request("PUT", bucket, key, query=[("partNumber", str(number)), ("uploadId", upload_id)],
                            body=body, **kwargs)

    def complete(self, bucket, key, upload_id, parts):
        """parts: [(number, etag)] in the order to send."""
        body = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>" for n, etag in parts) + \
            "</CompleteMultipartUpload>"
        return self.request("POST", bucket, key, query=[("uploadId", upload_id)], body=body.encode())

    def abort(self, bucket, key, upload_id):
        return self.request("DELETE", bucket, key, query=[("uploadId", upload_id)])

    def list_parts(self, bucket, key, upload_id, **params):
        query = [("uploadId", upload_id)] + [(n.replace("_", "-"), str(v)) for n, v in params.items()]
        return self.request("GET", bucket, key, query=query)

    def list_uploads(self, bucket, **params):
        query = [("uploads", "")] + [(n.replace("_", "-"), str(v)) for n, v in params.items()]
        return self.request("GET", bucket, query=query)


class S3Server:
    """The server started by start.sh in run_dir; stop() stops it by its PID."""

    def __init__(self, run_dir, info):
        self.run_dir = run_dir
        self.info = info
        self.pid = info["pid"]
        with open(info["secret_key_file"]) as source:
            self.secret_key = source.read().strip()
        self.access_key = info["access_key"]
        self.bucket = info["bucket"]
        self.ca_file = info["ca_file"]
        self.endpoint = info["endpoint"]
        self.https_endpoint = info["https_endpoint"]

    @classmethod
    def start(cls, run_dir, *server_args, env=None):
        result = subprocess.run([os.path.join(HERE, "start.sh"), run_dir, *server_args],
                                capture_output=True, text=True, timeout=60, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"start.sh failed ({result.returncode}): {result.stderr}")
        with open(os.path.join(run_dir, "server.json")) as source:
            return cls(run_dir, json.load(source))

    def stop(self):
        subprocess.run([os.path.join(HERE, "stop.sh"), self.run_dir], timeout=30)

    def restart(self, store=None, *server_args):
        """Stops the server and starts it again on the same ports and credentials, its store
        emptied (store=None) or replaced by a copy of the directory `store` (see save_store)."""
        self.stop()
        data = self.info["data_dir"]
        shutil.rmtree(data, ignore_errors=True)
        if store:
            shutil.copytree(store, data, symlinks=True)
        env = dict(os.environ, S3_TEST_ACCESS_KEY=self.access_key, S3_TEST_SECRET_KEY=self.secret_key)
        fresh = S3Server.start(self.run_dir, "--port", str(self.info["http_port"]),
                               "--https-port", str(self.info["https_port"]), *server_args, env=env)
        self.info = fresh.info
        self.pid = fresh.pid

    def save_store(self, destination):
        """Copies the store (stopped for the copy, then started again) for a later restart(store)."""
        self.stop()
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(self.info["data_dir"], destination, symlinks=True)
        self.restart(destination)

    def alive(self):
        """Running: neither gone nor a zombie (start.sh's child outlives it, so whoever inherits
        it, init or a test runner, reaps it when it gets round to it)."""
        try:
            with open(f"/proc/{self.pid}/stat") as source:
                return source.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def client(self, https=False, **kwargs):
        return S3Client(self.https_endpoint if https else self.endpoint, self.access_key,
                        self.secret_key, ca_file=self.ca_file if https else None, **kwargs)

    # --- control ---------------------------------------------------------------------------

    def control(self, what, method="GET", value=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.info["http_port"], timeout=30)
        body = json.dumps(value).encode() if value is not None else None
        connection.request(method, f"/_offsite/{what}", body=body)
        response = connection.getresponse()
        data = json.loads(response.read())
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"/_offsite/{what}: {data}")
        return data

    def add_fault(self, **rule):
        return self.control("faults", "POST", rule)

    def clear_faults(self):
        return self.control("faults", "DELETE")

    def faults(self):
        return self.control("faults")

    def uploads(self):
        return self.control("uploads")

    def objects(self, bucket=None):
        return self.control(f"objects?bucket={quote(bucket or self.bucket)}")

    def stats(self, reset=False):
        return self.control("stats", "DELETE" if reset else "GET")

    def log(self, n=1000, since=0):
        """The last n requests, or those after sequence number `since` (see mark())."""
        return self.control(f"log?n={n}&since={since}")

    def mark(self):
        """The sequence number of the last request so far: log(since=mark) are the later ones."""
        return self.control("stats")["last_seq"]

    def configure(self, **settings):
        return self.control("config", "POST", settings)

    def target_config(self, prefix, https=False, **extra):
        """The [repository.target] table of an offsite config for this server."""
        config = {
            "type": "s3", "bucket": self.bucket, "prefix": prefix, "region": "us-east-1",
            "endpoint": self.https_endpoint if https else self.endpoint, "url_style": "path",
            "access_key_id": self.access_key, "secret_access_key_file": self.info["secret_key_file"],
        }
        if https:
            config["ca_file"] = self.ca_file
        config.update(extra)
        return config


def wait_for(predicate, timeout=10, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
