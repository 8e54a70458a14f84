"""What of a URL source may be shown: no credentials in it, and no secret-looking query values.

A URL with a user name or password (``http://alice:s3cret@host/...``) is refused: a source's
origin is shown in listings, exports, citations and Discord messages, and the fetch would not
send them anyway.  A query value whose name looks like a secret (``token``, ``key``, ``sig``,
``password``, ``auth``, ``access_token``, ``X-Amz-Signature`` ...) is still sent when the page is
fetched, but shown and stored as ``REDACTED`` (``redact``), and left out of the source id the URL
gives (``without_secrets``).  The full URL is kept only where it is needed to fetch the page again
(the source's note in the registry: ``ingest/sources.py``), never displayed.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from common.errors import SourceError

REDACTED = "REDACTED"
# A query name is secret when one of its words is one of these ("access_token", "X-Amz-Signature",
# "apiKey", "client_secret") or it is one of them run together ("apikey", "accesstoken").
SECRET_WORDS = frozenset(
    {
        "token", "key", "apikey", "sig", "signature", "password", "passwd", "pwd", "pass", "passphrase",
        "auth", "authorization", "secret", "credential", "credentials", "session", "sessionid", "jwt",
        "accesstoken", "refreshtoken", "idtoken", "clientsecret", "privatekey", "otp",
    }
)  # fmt: skip
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter's name looks like it holds a secret."""
    words = [w for w in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", unquote_plus(name)).lower()) if w]
    return any(w in SECRET_WORDS for w in words) or "".join(words) in SECRET_WORDS


def _pairs(part: str, keep: bool) -> str:
    """``part`` (a query or fragment) with each secret pair redacted (``keep``) or dropped."""
    out = []
    for piece in part.split("&"):
        name, sep, _value = piece.partition("=")
        if not sep or not is_secret_name(name):
            out.append(piece)
        elif keep:
            out.append(f"{name}={REDACTED}")
    return "&".join(out)


def _rebuild(url: str, keep: bool) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL we can read: show none of what follows its host
        return url.split("?", 1)[0].split("#", 1)[0]
    netloc = parts.netloc.rpartition("@")[2]  # a user name or password is never shown
    query, fragment = _pairs(parts.query, keep), _pairs(parts.fragment, keep)
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def redact(url: str) -> str:
    """``url`` as it may be shown and stored: secret query values replaced by ``REDACTED``, no
    user name or password."""
    return _rebuild(url, keep=True)


def without_secrets(url: str) -> str:
    """``url`` without its secret query pairs at all (what a source id is made from)."""
    return _rebuild(url, keep=False)


def has_secrets(url: str) -> bool:
    return redact(url) != url


def check_credentials(url: str) -> str:
    """``url``, or a SourceError if it carries a user name or password."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return url  # fetch says what is wrong with it
    if "@" in netloc:
        raise SourceError(
            f"{redact(url)}: a URL source cannot carry a user name or password (user:password@host); "
            "they would be shown wherever the source is listed or cited. Give a URL the page can be "
            "fetched from without them"
        )
    return url
