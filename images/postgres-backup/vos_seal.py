"""Sealing the backup service's off-host copies: each object encrypted and authenticated
with the stack's backup key, opened only with the key that sealed it.

The key is a generated secret of the stack (Vault: postgres-backup/encryption-key), rotated
by `vos-infra:rotation.backupKey`; Vault keeps every version, and each object names the key
that sealed it by an id derived from the key (never the key), so a restore opens copies
from before a rotation with the version that sealed them.

An object: header (magic, key id, salt, nonce), AES-256-GCM ciphertext, 16-byte tag. The
object's key is HKDF-SHA256(stack key, salt), a fresh one per object, so no nonce is ever
reused under a key; the header and the object's name in the store are authenticated with
it, so a copy renamed or moved to another place in the store does not open either.
Streams (a base backup can be larger than memory): cryptography's GCM encryptor and
decryptor, and nothing opened is kept unless the tag verifies.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"VOSBAK01"
ID_BYTES, SALT_BYTES, NONCE_BYTES, TAG_BYTES = 8, 16, 12, 16
HEADER_BYTES = len(MAGIC) + ID_BYTES + SALT_BYTES + NONCE_BYTES
CHUNK = 1 << 20
SEALED = ".sealed"
"""How every object's name in the store ends."""
MIN_KEY_CHARS = 32


class OffsiteError(Exception):
    """What went wrong, said for the operator (the container log, the restore command)."""


@dataclass(frozen=True)
class Key:
    secret: bytes

    @classmethod
    def read(cls, path: str | Path) -> Key:
        text = Path(path).read_text().strip()
        if len(text) < MIN_KEY_CHARS:
            raise OffsiteError(f"{path}: not a backup key (under {MIN_KEY_CHARS} characters)")
        return cls(text.encode())

    @property
    def id(self) -> bytes:
        """Names the key in every object it seals; derived one-way, reveals nothing of it."""
        return hmac.new(self.secret, b"vos-backup key id", hashlib.sha256).digest()[:ID_BYTES]

    def object_key(self, salt: bytes) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"vos-backup object v1")
        return hkdf.derive(self.secret)


def keyring(keys: Iterable[Key]) -> dict[bytes, Key]:
    return {key.id: key for key in keys}


class SealingWriter:
    """A write-only file that seals what is written into `sink` (tarfile streams into it)."""

    def __init__(self, sink: BinaryIO, key: Key, name: str) -> None:
        salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
        header = MAGIC + key.id + salt + nonce
        self._encryptor = Cipher(algorithms.AES(key.object_key(salt)), modes.GCM(nonce)).encryptor()
        self._encryptor.authenticate_additional_data(header + name.encode())
        self._sink = sink
        sink.write(header)

    def write(self, data: bytes) -> int:
        self._sink.write(self._encryptor.update(data))
        return len(data)

    def finish(self) -> None:
        self._sink.write(self._encryptor.finalize())
        self._sink.write(self._encryptor.tag)


def seal_path(path: Path, sealed: Path, key: Key, name: str) -> None:
    """A file or a folder as a tar stream (its own name at the top, times kept), sealed
    into `sealed` as it is read."""
    with sealed.open("wb") as sink:
        writer = SealingWriter(sink, key, name)
        with tarfile.open(fileobj=writer, mode="w|") as archive:  # type: ignore[call-overload]
            archive.add(path, arcname=path.name)
        writer.finish()


def open_file(sealed: Path, plain: Path, keys: Mapping[bytes, Key], name: str) -> None:
    """Opens `sealed` into `plain`; nothing is left in `plain` unless the tag verified."""
    size = sealed.stat().st_size
    if size < HEADER_BYTES + TAG_BYTES:
        raise OffsiteError(f"{name}: too short to be a sealed backup object")
    with sealed.open("rb") as source:
        header = source.read(HEADER_BYTES)
        if not header.startswith(MAGIC):
            raise OffsiteError(f"{name}: not a sealed backup object (no {MAGIC.decode()} header)")
        at = len(MAGIC)
        key_id = header[at : at + ID_BYTES]
        salt = header[at + ID_BYTES : at + ID_BYTES + SALT_BYTES]
        nonce = header[at + ID_BYTES + SALT_BYTES :]
        key = keys.get(key_id)
        if key is None:
            raise OffsiteError(
                f"{name}: sealed with key id {key_id.hex()}, which none of the keys given has "
                "(a key from before a rotation: give every version Vault keeps)"
            )
        decryptor = Cipher(algorithms.AES(key.object_key(salt)), modes.GCM(nonce)).decryptor()
        decryptor.authenticate_additional_data(header + name.encode())
        left = size - HEADER_BYTES - TAG_BYTES
        try:
            with plain.open("wb") as sink:
                while left > 0:
                    chunk = source.read(min(CHUNK, left))
                    if not chunk:  # shorter than when it was measured: never a whole copy
                        raise InvalidTag
                    left -= len(chunk)
                    sink.write(decryptor.update(chunk))
                decryptor.finalize_with_tag(source.read(TAG_BYTES))
        except InvalidTag:
            plain.unlink()
            raise OffsiteError(
                f"{name}: does not authenticate: altered, renamed, or sealed with another key "
                "of the same id"
            ) from None


def safe_members(archive: tarfile.TarFile, name: str) -> list[tarfile.TarInfo]:
    """Only folders and regular files, below where it is opened (a base backup, a WAL file
    and a Weaviate backup have nothing else): refused otherwise, though the tag already says
    who sealed it."""
    members = archive.getmembers()
    for member in members:
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            raise OffsiteError(f"{name}: unexpected member {member.name!r}")
    return members


@contextmanager
def scratch_lock(scratch: Path) -> Iterator[None]:
    """One sealer or opener at a time in a scratch folder: the service's loop and a command
    run inside it (`vos-infra backup now`, a restore's copy round) share the service's, and
    its file names are fixed, so two at once would interleave one object's bytes. Waits
    for the other."""
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (scratch / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
