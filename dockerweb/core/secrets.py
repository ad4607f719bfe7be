"""Secrets kept at rest (a repository's password, an SSH key): sealed with a key derived from
the site's SECRET_KEY (HKDF-SHA256 → Fernet: AES-128-CBC with an HMAC), so a copy of the
database alone does not give them away. Changing SECRET_KEY makes them unreadable: `unseal`
then says so instead of failing obscurely."""
from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from .errors import Conflict


@functools.lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"dockerweb", info=b"dockerweb secrets at rest v1").derive(
        secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(text.encode()).decode() if text else ""


def unseal(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise Conflict("A stored secret cannot be read: the site's SECRET_KEY changed since it was saved. "
                       "Enter the password (and key) again.") from None
