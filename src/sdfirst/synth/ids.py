"""Hashed record identifiers, made without a lookup table.

The real releases carry opaque hashed keys (`row_id_hash`, `case_id_hash`, `event_id_hash`). Here a key is the
splitmix64 finaliser applied to (table, chunk, row) xor a key from the seed. The finaliser is a bijection on
64-bit integers, so keys never collide, need no coordination between workers, and still look random.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.synth.rng import stream_key

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# byte value -> its two hex characters as one little-endian 16-bit value (first character in the low byte)
_HEX_PAIRS = (_HEX[np.arange(256) >> 4].astype("<u2") | (_HEX[np.arange(256) & 15].astype("<u2") << 8)).astype("<u2")
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fast invertible scrambling of 64-bit integers."""
    z = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def id_key(seed: int, name: str) -> np.uint64:
    """The per-seed, per-kind salt: another seed gives unrelated identifiers."""
    return mix64(np.array([(seed << 32) ^ stream_key(name)], dtype=np.uint64))[0]


def make_ids(seed: int, name: str, chunk: int, n: int, start: int = 0) -> np.ndarray:
    """n distinct 64-bit identifiers of one kind for one chunk (rows start .. start+n-1)."""
    if start + n >= 2**32 or chunk >= 2**24:
        raise ValueError("identifier space exceeded")
    base = (np.uint64(stream_key(name) & 0xFF) << np.uint64(56)) | (np.uint64(chunk) << np.uint64(32))
    raw = base | np.arange(start, start + n, dtype=np.uint64)
    return mix64(raw ^ id_key(seed, name))


def to_hex(ids: np.ndarray, width: int = 16) -> pa.Array:
    """Format 64-bit integers as lower-case hex strings (the last `width` digits), vectorised.

    Each byte, most significant first, is looked up in a table of its two hex characters, so the work is one
    gather of eight 16-bit values per identifier rather than sixteen shifts and masks.
    """
    ids = np.asarray(ids, dtype=np.uint64)
    digits = _HEX_PAIRS[ids.astype(">u8").view(np.uint8)].view(np.uint8).reshape(len(ids), 16)
    return fixed_width_strings(digits[:, 16 - width :])


def fixed_width_strings(chars: np.ndarray) -> pa.Array:
    """Strings of one width from an [n, width] matrix of UTF-8 bytes, built straight from Arrow buffers (going
    through Python or numpy strings is many times slower)."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(width)
    data = np.ascontiguousarray(chars, dtype=np.uint8).tobytes()
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)])


def hex_ids(seed: int, name: str, chunk: int, n: int, start: int = 0) -> pa.Array:
    """Opaque hashed keys such as row_id_hash, as strings."""
    return to_hex(make_ids(seed, name, chunk, n, start))
