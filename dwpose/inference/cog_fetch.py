"""How the Cog server fetches an ``http(s)`` input URL: public addresses only, one message for every
failure, nothing left on disk when it fails.

Cog 0.23.1 turns an ``http(s)`` string given for a ``cog.Path`` input into ``cog.types.URLPath`` and,
before ``predict()`` runs, calls its ``convert()``, which creates ``$TMPDIR/tmpXXXXXXXX<name>`` and
copies the response into it with ``requests``. As shipped, that fetches any address (loopback, the
private network, cloud metadata at 169.254.169.254), follows redirects there, leaves the empty file
behind when the download fails, and reports ``Connection refused`` / ``Read timed out`` / TLS errors
apart (a port scanner for whoever can reach the server). :func:`install` replaces ``convert()`` (the
predictor calls it when it is imported) with :func:`_convert`:

- every host name is resolved here and every address it resolves to must be public
  (``ipaddress.is_global``, not multicast); loopback, private, link-local, shared and reserved
  addresses are refused unless :data:`ALLOW_PRIVATE_ENV` is ``1``; the connection goes to the address
  that was checked (no second look-up), and each redirect (at most :data:`MAX_REDIRECTS`) is checked
  the same way; proxies from the environment are not used;
- a response other than 200, a body over :data:`MAX_DOWNLOAD_BYTES`, or a stall over
  :data:`TIMEOUT_S` fail;
- any failure (refused by the policy, unreachable, timed out, TLS, HTTP error) removes the temporary
  file and raises :class:`DownloadFailed` with the one message :data:`DOWNLOAD_FAILED`.

``data:`` URLs are written the same way (no network). Files Cog downloaded for a request whose other
input then failed to download are never handed to ``predict()``, and Cog does not delete them: the
predictor :func:`claim` s its inputs, and :func:`sweep_unclaimed` removes the rest after 10 s (a request
with two downloads is refused anyway: image or video, not both).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
from typing import IO, Any, Dict, List, Optional

from dwpose.errors import UserError

ALLOW_PRIVATE_ENV = "DWPOSE_COG_ALLOW_PRIVATE_URLS"
DOWNLOAD_FAILED = (
    "could not download the input URL: it must be an http(s) URL of a public server that answers with "
    "the file (loopback, private and link-local addresses are refused)"
)
MAX_REDIRECTS = 5
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
TIMEOUT_S = 30.0
UNCLAIMED_AFTER_S = 10.0  # predict() claims its one input as soon as Cog has it
_CHUNK = 1 << 20
_REDIRECTS = (301, 302, 303, 307, 308)
_unclaimed: Dict[str, float] = {}  # downloaded file -> when; until predict() claims it
_lock = threading.Lock()


class DownloadFailed(UserError):
    """An input URL could not be fetched (:data:`DOWNLOAD_FAILED`, whatever the reason)."""


def private_urls_allowed() -> bool:
    """Whether :data:`ALLOW_PRIVATE_ENV` is ``1`` (or ``true`` / ``yes``) in this process's environment."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet (IPv4-mapped IPv6 judged as the IPv4)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to for ``host``; OSError when it has none, or (``allow_private`` off)
    when any address it resolves to is not public."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise PermissionError(f"{host} resolves to an address that is not public")
    return addresses[0]


def _connection(
    scheme: str, host: str, port: int, address: str, timeout: float
) -> http.client.HTTPConnection:
    """An HTTP(S) connection to ``address`` that speaks to (and, for HTTPS, verifies) ``host``."""
    if scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect_checked(_addr, timeout_s, source=None):
        return socket.create_connection((address, port), timeout_s, source)

    conn._create_connection = connect_checked  # the address checked above, no second look-up
    return conn


def download(
    url: str,
    dest: IO[bytes],
    allow_private: Optional[bool] = None,
    timeout: Optional[float] = None,
    max_bytes: Optional[int] = None,
) -> int:
    """GET ``url`` into ``dest`` following the policy of the module docstring; returns the bytes written.
    ``None`` arguments take :data:`ALLOW_PRIVATE_ENV`, :data:`TIMEOUT_S` and :data:`MAX_DOWNLOAD_BYTES`.

    Raises:
        OSError / ValueError / http.client.HTTPException: whatever went wrong (callers report
        :data:`DOWNLOAD_FAILED` for all of them).
    """
    allow = private_urls_allowed() if allow_private is None else allow_private
    timeout = TIMEOUT_S if timeout is None else timeout
    max_bytes = MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    for _ in range(MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = resolve(parts.hostname, port, allow)
        conn = _connection(parts.scheme, parts.hostname, port, address, timeout)
        try:
            target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
            agent = os.environ.get("COG_USER_AGENT", "dwpose-cog")
            conn.request("GET", target, headers={"User-Agent": agent})
            response = conn.getresponse()
            if response.status in _REDIRECTS and response.getheader("Location"):
                url = urllib.parse.urljoin(url, response.getheader("Location"))
                continue
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            return _copy(response, dest, max_bytes)
        finally:
            conn.close()
    raise ValueError("too many redirects")


def _copy(response: http.client.HTTPResponse, dest: IO[bytes], max_bytes: int) -> int:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise ValueError("too large")
    written = 0
    while True:
        chunk = response.read(_CHUNK)
        if not chunk:
            return written
        written += len(chunk)
        if written > max_bytes:
            raise ValueError("too large")
        dest.write(chunk)


def _convert(self: Any) -> Any:
    """``cog.types.URLPath.convert`` under the policy of the module docstring (same file naming)."""
    import cog.types

    if self._path is None:
        source = str(object.__getattribute__(self, "source"))
        dest = tempfile.NamedTemporaryFile(suffix=self.filename, delete=False)  # noqa: SIM115
        try:
            with dest:
                if source.startswith(("http://", "https://")):
                    download(source, dest)
                else:  # a data: URL, already decoded by Cog
                    shutil.copyfileobj(self.fileobj, dest)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(dest.name)
            if isinstance(exc, Exception):
                raise DownloadFailed(DOWNLOAD_FAILED) from None
            raise
        with _lock:
            _unclaimed[dest.name] = time.monotonic()
        self._path = cog.types.Path(dest.name)
    return self._path


def install() -> None:
    """Make Cog fetch ``cog.Path`` inputs with :func:`_convert`; RuntimeError if this Cog has no
    ``URLPath.convert`` to replace (another Cog version: the policy would silently not apply)."""
    import cog.types

    url_path = getattr(cog.types, "URLPath", None)
    if url_path is None or not callable(getattr(url_path, "convert", None)):
        raise RuntimeError("this Cog has no cog.types.URLPath.convert: the predictor needs cog==0.23.1")
    url_path.convert = _convert


def claim(*inputs: Any) -> None:
    """``predict()`` got these inputs: their files are Cog's to delete after the prediction."""
    with _lock:
        for value in inputs:
            if isinstance(value, os.PathLike):
                _unclaimed.pop(os.fspath(value), None)


def sweep_unclaimed(max_age: float = UNCLAIMED_AFTER_S) -> List[str]:
    """Delete downloads no ``predict()`` claimed within ``max_age`` seconds; returns their names."""
    oldest = time.monotonic() - max_age
    with _lock:
        stale = [name for name, made in _unclaimed.items() if made < oldest]
        for name in stale:
            del _unclaimed[name]
    for name in stale:
        with contextlib.suppress(OSError):
            os.unlink(name)
    return stale
