"""The sealed ballot box: key, shares, ballots. Pure functions over bytes; no database, no I/O.

- At opening a vote gets a fresh 16-byte secret; its X25519 key pair is derived from it. Only the
  public key is stored. The secret is split k-of-n (Shamir over GF(2^128), pycryptodome) among the
  counting committee and then dropped: no process keeps it while the vote runs.
- A ballot is `version | receipt code | one mark byte per option`: the same length for every
  ballot of a vote (blank, one choice, all choices), sealed to the public key (libsodium sealed box,
  PyNaCl). The box row keeps only ciphertexts and the sorted list of units that voted.
- To count, k members hand back their shares; the secret is rebuilt in memory, every ballot is
  opened, and the box is replaced by the bulletin board (receipt code, choices) sorted by code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from Crypto.Protocol.SecretSharing import Shamir
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

SECRET_BYTES = 16  # Shamir in pycryptodome shares exactly 16-byte secrets
VERSION = 1
RECEIPT_LEN = 10
# A typed share: "K12-2-ABCDE-FGHIJ-KLMNO-PQRST-UVWXY-Z" (vote 12, share 2, 26 base32 characters).
SHARE_CODE = re.compile(r"^\s*K(\d{1,12})-(\d{1,2})-((?:[A-Z2-7]{1,5}-?){5,7})\s*$", re.I)


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def private_key(secret: bytes) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(b"thidua-ballot-box:" + secret).digest())


def public_key_b64(secret: bytes) -> str:
    return base64.b64encode(bytes(private_key(secret).public_key)).decode()


def split(secret: bytes, k: int, n: int) -> list[tuple[int, bytes]]:
    return Shamir.split(k, n, secret)


def combine(shares: list[tuple[int, bytes]]) -> bytes:
    return Shamir.combine(shares)


def share_hash(poll_id: int, index: int, share: bytes) -> str:
    """What the server keeps of a share: enough to recognise it, nothing to rebuild it."""
    return hashlib.sha256(b"thidua-share:%d:%d:" % (poll_id, index) + share).hexdigest()


def share_matches(expected_hash: str, poll_id: int, index: int, share: bytes) -> bool:
    return hmac.compare_digest(expected_hash, share_hash(poll_id, index, share))


def share_token(share: bytes) -> str:
    """The share in callback data: 22 url-safe characters."""
    return base64.urlsafe_b64encode(share).decode().rstrip("=")


def share_from_token(token: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    return raw if len(raw) == SECRET_BYTES else None


def share_code(poll_id: int, index: int, share: bytes) -> str:
    """The share as a code a member can type (the Zalo channel has no buttons)."""
    text = base64.b32encode(share).decode().rstrip("=")
    groups = "-".join(text[i:i + 5] for i in range(0, len(text), 5))
    return f"K{poll_id}-{index}-{groups}"


def parse_share_code(text: str) -> tuple[int, int, bytes] | None:
    m = SHARE_CODE.match(text or "")
    if not m:
        return None
    body = m.group(3).replace("-", "").upper()
    try:
        share = base64.b32decode(body + "=" * (-len(body) % 8))
    except (ValueError, TypeError):
        return None
    if len(share) != SECRET_BYTES:
        return None
    return int(m.group(1)), int(m.group(2)), share


def new_receipt() -> str:
    """RECEIPT_LEN uniform characters of base32's alphabet (A-Z, 2-7): the first 50 of 56 random bits,
    5 a character; one call for the randomness instead of one per character."""
    code = base64.b32encode(secrets.token_bytes(7)).decode()[:RECEIPT_LEN]
    return f"{code[:5]}-{code[5:]}"


def ballot_length(option_count: int) -> int:
    return 1 + RECEIPT_LEN + option_count


def encode_ballot(option_count: int, choices: list[int], receipt: str) -> bytes:
    """Fixed length per vote: a blank and a full ballot cannot be told apart by size."""
    marks = bytearray(option_count)
    for c in choices:
        marks[c] = 1
    return bytes([VERSION]) + receipt.replace("-", "").encode("ascii") + bytes(marks)


def decode_ballot(data: bytes, option_count: int) -> tuple[str, list[int]]:
    if len(data) != ballot_length(option_count) or data[0] != VERSION:
        raise ValueError("not a ballot of this vote")
    raw = data[1:1 + RECEIPT_LEN].decode("ascii")
    marks = data[1 + RECEIPT_LEN:]
    if any(m not in (0, 1) for m in marks):
        raise ValueError("bad mark")
    return f"{raw[:5]}-{raw[5:]}", [i for i, m in enumerate(marks) if m]


def seal(public_b64: str, plaintext: bytes) -> str:
    box = SealedBox(PublicKey(base64.b64decode(public_b64)))
    return base64.b64encode(box.encrypt(plaintext)).decode()


def unseal(key: PrivateKey, ciphertext_b64: str) -> bytes | None:
    try:
        return SealedBox(key).decrypt(base64.b64decode(ciphertext_b64))
    except (CryptoError, ValueError, TypeError):
        return None


def mask_of(selection: list[int]) -> str:
    """The selection in progress as a hex bit mask (it travels in the ballot's own buttons)."""
    value = 0
    for i in selection:
        value |= 1 << i
    return format(value, "x")


def selection_of(mask: str, option_count: int) -> list[int] | None:
    if not mask or len(mask) > (option_count + 3) // 4 + 1 or not re.fullmatch(r"[0-9a-f]+", mask):
        return None
    value = int(mask, 16)
    if value >> option_count:
        return None
    return [i for i in range(option_count) if value >> i & 1]


@dataclass
class KeyVault:
    """Shares handed back for locked votes, in this process's memory only (never written anywhere).
    A restart empties it and the committee is asked again."""

    held: dict[int, dict[int, bytes]] = field(default_factory=dict)

    def add(self, poll_id: int, index: int, share: bytes) -> bool:
        """False when this share was already handed back."""
        shares = self.held.setdefault(poll_id, {})
        if index in shares:
            return False
        shares[index] = share
        return True

    def count(self, poll_id: int) -> int:
        return len(self.held.get(poll_id, {}))

    def indexes(self, poll_id: int) -> set[int]:
        return set(self.held.get(poll_id, {}))

    def shares(self, poll_id: int) -> list[tuple[int, bytes]]:
        return sorted(self.held.get(poll_id, {}).items())

    def forget(self, poll_id: int) -> None:
        self.held.pop(poll_id, None)
