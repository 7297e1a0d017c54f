"""A small fake Hugging Face Hub on 127.0.0.1, for download tests over real HTTP.

It answers exactly the requests huggingface_hub makes for a dataset file, as the real Hub
does for LFS files:

- ``GET  /api/datasets/<repo>/revision/<rev>``  -> JSON with ``sha`` (``HfApi.dataset_info``)
- ``HEAD|GET /datasets/<repo>/resolve/<rev>/<file>`` -> ``302`` to a separate "CDN" server
  (another port, so another origin: huggingface_hub stops at the redirect and reads
  ``X-Repo-Commit``, ``X-Linked-Etag`` and ``X-Linked-Size`` from it, as on huggingface.co)
- ``HEAD|GET /blobs/<sha256>`` on the CDN, honouring ``Range: bytes=N-`` with ``206``.

Errors carry ``X-Error-Code`` (``RepoNotFound`` with 401, ``RevisionNotFound``,
``EntryNotFound``) like the real Hub. Every request is logged in ``requests``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class Request:
    server: str  # "hub" or "cdn"
    method: str
    path: str
    range: str | None


@dataclass
class FakeRepo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)

    def resolve(self, rev: str) -> str | None:
        if rev in self.commits:
            return rev
        return self.refs.get(rev)


class FakeHub:
    """Two loopback HTTP servers (Hub API + CDN) over in-memory dataset repos."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.blobs: dict[str, bytes] = {}
        self.requests: list[Request] = []
        self.truncate_next_gets = 0  # send half a blob, then drop the connection
        self._lock = threading.Lock()
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, "hub"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, "cdn"))
        self._threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True)
                         for s in (self._hub, self._cdn)]

    # ------------------------------------------------------------------ control
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def __enter__(self) -> FakeHub:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        for s in (self._hub, self._cdn):
            s.shutdown()
            s.server_close()

    def push(self, repo_id: str, files: dict[str, bytes], ref: str = "main") -> str:
        """Add a commit holding ``files`` and point ``ref`` at it; return its sha."""
        repo = self.repos.setdefault(repo_id, FakeRepo())
        sha = hashlib.sha1(repr((len(repo.commits), sorted(
            (k, hashlib.sha256(v).hexdigest()) for k, v in files.items()))).encode()).hexdigest()
        repo.commits[sha] = dict(files)
        repo.refs[ref] = sha
        for data in files.values():
            self.blobs[hashlib.sha256(data).hexdigest()] = data
        return sha

    def log(self, req: Request) -> None:
        with self._lock:
            self.requests.append(req)

    def count(self, method: str, filename: str | None = None, server: str | None = None) -> int:
        """Requests with ``method``; ``filename`` matches resolve URLs or the file's blob."""
        blob_ids = set()
        if filename is not None:
            for repo in self.repos.values():
                for files in repo.commits.values():
                    if filename in files:
                        blob_ids.add(hashlib.sha256(files[filename]).hexdigest())
        n = 0
        for r in list(self.requests):
            if r.method != method or (server and r.server != server):
                continue
            if filename is None or r.path.endswith("/" + filename) or (
                    r.path.startswith("/blobs/") and r.path[7:] in blob_ids):
                n += 1
        return n


_API_RE = re.compile(r"^/api/datasets/([^/]+/[^/]+)(?:/revision/([^/]+))?$")
_RESOLVE_RE = re.compile(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _handler(hub: FakeHub, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._dispatch(head=True)

        def do_GET(self) -> None:
            self._dispatch(head=False)

        # -------------------------------------------------------------- routing
        def _dispatch(self, head: bool) -> None:
            path = urlsplit(self.path).path
            hub.log(Request(role, self.command, unquote(path), self.headers.get("Range")))
            if role == "cdn":
                return self._blob(path, head)
            if m := _API_RE.match(path):
                return self._api(unquote(m.group(1)), unquote(m.group(2) or "main"), head)
            if m := _RESOLVE_RE.match(path):
                return self._resolve(unquote(m.group(1)), unquote(m.group(2)),
                                     unquote(m.group(3)), head)
            self._send(404, b"not found", {"X-Error-Code": "EntryNotFound"}, head)

        def _repo_rev(self, repo_id: str, rev: str, head: bool):
            repo = hub.repos.get(repo_id)
            if repo is None:
                errors = {"X-Error-Code": "RepoNotFound",
                          "X-Error-Message": "Repository not found"}
                self._send(401, b"Repository not found", errors, head)
                return None, None
            sha = repo.resolve(rev)
            if sha is None:
                self._send(404, b"Invalid rev id", {"X-Error-Code": "RevisionNotFound"}, head)
                return None, None
            return repo, sha

        def _api(self, repo_id: str, rev: str, head: bool) -> None:
            repo, sha = self._repo_rev(repo_id, rev, head)
            if repo is None:
                return
            body = json.dumps({
                "_id": "fake", "id": repo_id, "author": repo_id.split("/")[0], "sha": sha,
                "private": False, "gated": False, "disabled": False, "tags": [],
                "lastModified": "2024-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": f} for f in sorted(repo.commits[sha])],
            }).encode()
            self._send(200, body, {"Content-Type": "application/json"}, head)

        def _resolve(self, repo_id: str, rev: str, filename: str, head: bool) -> None:
            repo, sha = self._repo_rev(repo_id, rev, head)
            if repo is None:
                return
            data = repo.commits[sha].get(filename)
            if data is None:
                self._send(404, b"Entry not found", {"X-Error-Code": "EntryNotFound",
                                                     "X-Repo-Commit": sha}, head)
                return
            digest = hashlib.sha256(data).hexdigest()
            self._send(302, b"", {
                "Location": f"{hub.cdn}/blobs/{digest}",
                "X-Repo-Commit": sha,
                "X-Linked-Etag": f'"{digest}"',
                "X-Linked-Size": str(len(data)),
                "ETag": f'"{hashlib.sha1(digest.encode()).hexdigest()}"',
            }, head)

        def _blob(self, path: str, head: bool) -> None:
            data = hub.blobs.get(path.removeprefix("/blobs/"))
            if data is None:
                return self._send(404, b"no such blob", {}, head)
            rng = _RANGE_RE.match(self.headers.get("Range", ""))
            start = int(rng.group(1)) if rng else 0
            end = int(rng.group(2)) if rng and rng.group(2) else len(data) - 1
            if start >= len(data) and data:
                return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"}, head)
            headers = {"Accept-Ranges": "bytes", "ETag": f'"{path[7:]}"',
                       "Content-Type": "application/octet-stream"}
            status = 200
            if rng:
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            body = data[start:end + 1]
            if not head and hub.truncate_next_gets > 0 and len(body) > 1:
                hub.truncate_next_gets -= 1
                return self._send(status, body, headers, head, cut=len(body) // 2)
            self._send(status, body, headers, head)

        def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool,
                  cut: int | None = None) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            if cut is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            if not head:
                self.wfile.write(body if cut is None else body[:cut])
            if cut is not None:
                self.wfile.flush()
                self.close_connection = True

    return Handler
