"""Checkpoint sync for the reference trainers (Python 3 standard library only: no boto3).

A replacement pod (after a disruption: preemption, node drain, eviction) starts with an empty output directory. When the
SDK sets ``TRAINING_CHECKPOINT_URI`` (``s3://<bucket>/<run prefix>checkpoints/``, Kubernetes executor with an artifact
store), the trainers

* upload every checkpoint they write (and ``weights/last.*``, as ``<uri>last.<ext>``) to that location, and
* at start, when their output directory holds no checkpoint, download the newest epoch checkpoint from it into
  ``<output_dir>/checkpoints/`` first; their usual resume rules then continue after that epoch.

Credentials and endpoint come from the usual variables: ``AWS_S3_ENDPOINT_URL`` (else AWS S3 in ``AWS_REGION``),
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN`` when set), region ``AWS_REGION`` /
``AWS_DEFAULT_REGION`` (default ``us-east-1``; Cloudflare R2 accepts it). Requests are path-style and signed with AWS
Signature Version 4. Nothing here ever prints a credential.

Upload failures are reported on stderr and never stop training (a bounded number of attempts per file). A failed
restore is reported on stderr and the run starts from what it has locally.
"""

import datetime
import hashlib
import hmac
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

URI_VARIABLE = "TRAINING_CHECKPOINT_URI"
DEFAULT_REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Status codes worth another attempt: throttling and server-side failures.
RETRYABLE_STATUS = (408, 429, 500, 502, 503, 504)


class S3Error(Exception):
    """A failed request: the HTTP status (None for a connection failure), the S3 error code and a message without secrets."""

    def __init__(self, status, code, message):
        super().__init__(f"{message} (status {status}, {code})" if status is not None else message)
        self.status = status
        self.code = code

    @property
    def retryable(self):
        return self.status is None or self.status in RETRYABLE_STATUS


def parse_s3_uri(uri):
    """``s3://bucket/some/prefix/`` -> ``("bucket", "some/prefix/")``; a non-empty prefix always ends with ``/``."""
    parsed = urllib.parse.urlsplit(uri or "")
    if parsed.scheme != "s3" or not parsed.netloc or parsed.query or parsed.fragment:
        raise ValueError(f"{URI_VARIABLE}: {uri!r} is not an s3://<bucket>/<prefix>/ URI")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


def _quote(text, safe):
    return urllib.parse.quote(text, safe=safe, encoding="utf-8")


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


class S3Client:
    """PUT object, GET object and LIST objects (v2) against an S3-compatible endpoint, path-style, Signature V4."""

    def __init__(self, endpoint, access_key, secret_key, region=DEFAULT_REGION, session_token=None, timeout=30.0):
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"AWS_S3_ENDPOINT_URL: {endpoint!r} is not an http(s) URL")
        if not access_key or not secret_key:
            raise ValueError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required")
        self._scheme = parsed.scheme
        self._host = parsed.netloc
        self._base_path = parsed.path.rstrip("/")
        self._access_key = access_key
        self._secret_key = secret_key
        self._session_token = session_token
        self.region = region or DEFAULT_REGION
        self.timeout = timeout

    @classmethod
    def from_environment(cls, environ=None, timeout=30.0):
        env = os.environ if environ is None else environ
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        endpoint = env.get("AWS_S3_ENDPOINT_URL") or f"https://s3.{region}.amazonaws.com"
        return cls(endpoint, env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY"), region,
                   env.get("AWS_SESSION_TOKEN") or None, timeout)

    def put_object(self, bucket, key, data):
        self._request("PUT", bucket, key, {}, data)

    def get_object(self, bucket, key):
        return self._request("GET", bucket, key, {}, b"")

    def list_objects(self, bucket, prefix, max_keys=1000):
        """Every object under ``prefix``, as ``(key, size)`` pairs, following continuation tokens."""
        objects, token = [], None
        while True:
            query = {"list-type": "2", "prefix": prefix, "max-keys": str(max_keys)}
            if token is not None:
                query["continuation-token"] = token
            root = ET.fromstring(self._request("GET", bucket, "", query, b""))
            for item in _children(root, "Contents"):
                objects.append((_text(item, "Key"), int(_text(item, "Size") or 0)))
            token = _text(root, "NextContinuationToken")
            if _text(root, "IsTruncated") != "true" or not token:
                return objects

    def _request(self, method, bucket, key, query, body):
        path = f"{self._base_path}/{_quote(bucket, '')}"
        if key:
            path += "/" + _quote(key, "/-_.~")
        canonical_query = "&".join(
            f"{_quote(k, '-_.~')}={_quote(v, '-_.~')}" for k, v in sorted(query.items()))
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        headers = {"host": self._host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
        if self._session_token:
            headers["x-amz-security-token"] = self._session_token
        authorization = sign_v4(method, path, canonical_query, headers, payload_hash, amz_date, self.region,
                                self._access_key, self._secret_key)

        url = f"{self._scheme}://{self._host}{path}" + (f"?{canonical_query}" if canonical_query else "")
        request = urllib.request.Request(url, data=body if method == "PUT" else None, method=method)
        for name, value in headers.items():
            if name != "host":
                request.add_header(name, value)
        request.add_header("Authorization", authorization)
        if method == "PUT":
            request.add_header("Content-Type", "application/octet-stream")
        what = f"{method} s3://{bucket}/{key}" if key else f"LIST s3://{bucket}/{query.get('prefix', '')}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as e:
            code = "unknown"
            try:
                # A regular expression, not an XML parser: some servers put HTML entities (s3rver: &uuml;) in error bodies.
                found = re.search(rb"<Code>([^<]{1,100})</Code>", e.read(64 * 1024))
                code = found.group(1).decode("utf-8", "replace") if found else code
            except OSError:
                pass
            raise S3Error(e.code, code, f"{what} failed") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise S3Error(None, "connection", f"{what} failed: {reason}") from None


def sign_v4(method, path, canonical_query, headers, payload_hash, amz_date, region, access_key, secret_key,
            service="s3"):
    """The ``Authorization`` header of AWS Signature Version 4 for a request whose headers (lower-case names, ``host``
    included) are all signed; ``path`` and ``canonical_query`` are already URI-encoded as S3 expects."""
    day = amz_date[:8]
    signed = ";".join(sorted(headers))
    canonical_request = "\n".join([
        method, path, canonical_query,
        "".join(f"{name}:{headers[name].strip()}\n" for name in sorted(headers)),
        signed, payload_hash])
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    signing_key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode("utf-8"), day), region), service), "aws4_request")
    signature = hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _children(element, name):
    return [child for child in element if _local(child.tag) == name]


def _text(element, name):
    for child in element:
        if _local(child.tag) == name:
            return child.text
    return None


def _report(message):
    print(f"checkpoint sync: {message}", file=sys.stderr, flush=True)


class CheckpointSync:
    """Uploads and restores one run's checkpoints under ``TRAINING_CHECKPOINT_URI``.

    ``pattern`` matches the file names of epoch checkpoints with the epoch as its one group (``checkpoint_epoch_(\\d+)\\.json``
    for train.py, ``epoch_(\\d+)\\.pt`` for train_torch.py): the same names as in the output directory's ``checkpoints/``.
    """

    def __init__(self, client, uri, pattern, attempts=3, retry_delay=0.5, report=_report):
        self.client = client
        self.uri = uri
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.pattern = re.compile(pattern)
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self.report = report

    @classmethod
    def from_environment(cls, pattern, environ=None, report=_report):
        """None when ``TRAINING_CHECKPOINT_URI`` is unset or empty; also None (with one line on stderr) when it cannot work."""
        env = os.environ if environ is None else environ
        uri = env.get(URI_VARIABLE)
        if not uri:
            return None
        try:
            return cls(S3Client.from_environment(env, timeout=_float(env, "VP_CHECKPOINT_SYNC_TIMEOUT", 30.0)), uri, pattern,
                       attempts=int(_float(env, "VP_CHECKPOINT_SYNC_ATTEMPTS", 3)), report=report)
        except ValueError as e:
            report(f"disabled: {e}")
            return None

    def _with_retries(self, what, action):
        for attempt in range(1, self.attempts + 1):
            try:
                return action()
            except S3Error as e:
                if not e.retryable or attempt == self.attempts:
                    raise
                self.report(f"{what}: {e}; attempt {attempt} of {self.attempts}, retrying")
                time.sleep(self.retry_delay * attempt)
        raise AssertionError("unreachable")

    def upload(self, local_path, name=None):
        """Uploads one file as ``<uri><name>`` (default: its file name). Returns whether it was stored; never raises."""
        name = name or os.path.basename(local_path)
        key = self.prefix + name
        try:
            with open(local_path, "rb") as f:
                data = f.read()
            self._with_retries(f"upload of {name}", lambda: self.client.put_object(self.bucket, key, data))
            return True
        except (S3Error, OSError) as e:
            self.report(f"upload of {name} to s3://{self.bucket}/{key} failed, training goes on: {e}")
            return False

    def latest(self):
        """The newest epoch checkpoint in the store, as ``(epoch, name)``, or None."""
        objects = self._with_retries("listing", lambda: self.client.list_objects(self.bucket, self.prefix))
        best = None
        for key, _size in objects:
            match = self.pattern.fullmatch(key[len(self.prefix):])
            if match and (best is None or int(match.group(1)) > best[0]):
                best = (int(match.group(1)), key[len(self.prefix):])
        return best

    def restore(self, directory):
        """Downloads the newest epoch checkpoint into ``directory`` (atomically). Returns ``(epoch, local path)`` or None
        when the store holds none or cannot be read (reported on stderr)."""
        try:
            found = self.latest()
            if found is None:
                self.report(f"no checkpoint under {self.uri}: starting without one")
                return None
            epoch, name = found
            data = self._with_retries(f"download of {name}",
                                      lambda: self.client.get_object(self.bucket, self.prefix + name))
            os.makedirs(directory, mode=0o700, exist_ok=True)
            path = os.path.join(directory, name)
            tmp = f"{path}.tmp{os.getpid()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            self.report(f"restored {name} (epoch {epoch}, {len(data)} bytes) from {self.uri}")
            return epoch, path
        except (S3Error, OSError, ET.ParseError) as e:
            self.report(f"restore from {self.uri} failed, starting without it: {e}")
            return None


def _float(env, name, default):
    try:
        return float(env.get(name) or default)
    except ValueError:
        return default
