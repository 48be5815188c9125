"""Encryption at rest of the merchant password (``kuroneko_settings.password``).

Why: a database dump, a backup or a read-only SQL account must not hand out the credential
that lets anyone cancel or change the shop's Yamato transactions.

Format: ``kn1.<key id>.<base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag)>`` — 59 characters for
Yamato's 8-character password, so it fits the existing String(64) column. The key id (6
characters of a hash of the key) says which key encrypted a value, so keys can be rotated:
the first key encrypts, every listed key decrypts.

Keys: ``KURONEKO_SECRET_KEY`` (app config, else the environment variable of that name), with
``KURONEKO_SECRET_KEY_FALLBACKS`` for old keys; without it, Flask's ``SECRET_KEY`` (and
``SECRET_KEY_FALLBACKS``). Each secret is stretched to 32 bytes with HKDF-SHA256 and a label,
so the same SECRET_KEY used for sessions yields an unrelated encryption key. Values written
before encryption existed (no ``kn1.`` prefix; a Yamato password never holds a dot) are read
as plain text and encrypted at the next save or by ``flask kuroneko rotate-key``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import ConfigurationError

PREFIX = "kn1."
NONCE_BYTES = 12
_INFO = b"flask-kuroneko settings password v1"
_SALT = b"flask-kuroneko"


class SecretBoxError(ConfigurationError):
    """A stored value cannot be decrypted with the configured keys (key changed or lost)."""


def derive_key(secret: str | bytes) -> bytes:
    """32 key bytes from an app secret (HKDF-SHA256 with a fixed label)."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not secret:
        raise ConfigurationError("An empty secret cannot encrypt the merchant password: set "
                                 "KURONEKO_SECRET_KEY (or SECRET_KEY).")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret)


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"kid:" + key).hexdigest()[:6]


def is_encrypted(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)


class SecretBox:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: Sequence[bytes]):
        if not keys:
            raise ConfigurationError("SecretBox needs at least one key.")
        self.keys = {key_id(k): k for k in reversed(list(keys))}
        self.current = key_id(keys[0])

    @classmethod
    def from_secrets(cls, secrets: Iterable[str | bytes]) -> "SecretBox":
        return cls([derive_key(s) for s in secrets if s])

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode("utf-8"),
                                                         self.current.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self.current}.{body}"

    def decrypt(self, value: str) -> str:
        """The plain text of ``value``; a value without the prefix is returned as it is."""
        if not is_encrypted(value):
            return value
        try:
            kid, body = value[len(PREFIX):].split(".", 1)
            raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        except (ValueError, binascii.Error):
            raise SecretBoxError("The stored merchant password is damaged: enter it again in "
                                 "the admin settings.") from None
        key = self.keys.get(kid)
        if key is None:
            raise SecretBoxError(
                "The stored merchant password was encrypted with a key that is no longer "
                "configured: put the old key in KURONEKO_SECRET_KEY_FALLBACKS (or "
                "SECRET_KEY_FALLBACKS), or enter the password again in the admin settings.")
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], kid.encode()).decode()
        except (InvalidTag, ValueError):
            raise SecretBoxError("The stored merchant password cannot be decrypted: enter it "
                                 "again in the admin settings.") from None

    def needs_rotation(self, value: str | None) -> bool:
        """True for plain text and for values of an older key."""
        if not value:
            return False
        return not is_encrypted(value) or not value[len(PREFIX):].startswith(self.current + ".")


def secrets_from_config(config: dict) -> list[str | bytes]:
    """The configured secrets, current first: KURONEKO_SECRET_KEY (+ fallbacks), else
    SECRET_KEY (+ Flask's SECRET_KEY_FALLBACKS)."""
    own = config.get("KURONEKO_SECRET_KEY") or os.environ.get("KURONEKO_SECRET_KEY")
    if own:
        return [own, *(config.get("KURONEKO_SECRET_KEY_FALLBACKS") or ())]
    return [config.get("SECRET_KEY") or "", *(config.get("SECRET_KEY_FALLBACKS") or ())]


def box_for(config: dict) -> SecretBox:
    """The SecretBox of an app's configuration (``app.config``)."""
    secrets = [s for s in secrets_from_config(config) if s]
    if not secrets:
        raise ConfigurationError(
            "No key to encrypt the merchant password: set KURONEKO_SECRET_KEY (a long random "
            "string, e.g. secrets.token_urlsafe(32)) or the app's SECRET_KEY.")
    return SecretBox.from_secrets(secrets)
