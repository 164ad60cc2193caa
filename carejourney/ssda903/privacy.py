"""Keeping children unidentifiable: pseudonyms, dropped fields, small-number suppression.

CHILD is replaced at read time by a keyed hash, so the same child matches across years but
the pseudonym cannot be looked up from the council's id without the key (an unsalted hash of a
six-digit id is reversed by trying all million ids).

The key (salt) is, by default, derived from the bytes of the returns read (`salt_from_files`):
reading the same returns again gives the same pseudonyms, so cleaning and calibration are
exactly reproducible, while anyone without the returns themselves cannot compute the key. (Who
holds the returns holds CHILD anyway.) Pass your own secret salt to `read_ssda903` for
pseudonyms that even a holder of the returns cannot recompute, or `new_salt()` for pseudonyms
that differ on every read (the row order of cleaned tables then differs between reads too).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

# Identifiers and locations: dropped at read time. Nothing in the model needs them (a
# placement's distance or in/out-of-area flag would need geography we do not have).
DROPPED_FIELDS = ("UPN", "MOTHER", "MC_DOB", "HOME_POST", "PL_POST", "URN")
PSEUDONYM_PREFIX = "P"
PSEUDONYM_HEX_CHARS = 16  # 64 bits: collisions are checked anyway


# Separates this use of SHA-256 from any other hash of the same files.
_SALT_DOMAIN = b"carejourney.ssda903 pseudonym salt v1\x00"


def new_salt() -> str:
    """A fresh random salt: pseudonyms that cannot be reproduced (nor matched across reads)."""
    return secrets.token_hex(16)


def salt_from_contents(contents: Iterable[bytes]) -> str:
    """The default salt: a hash of the files' bytes (order-independent; names play no part).

    Deterministic, so the same returns always give the same pseudonyms, in any process; secret
    to anyone who does not hold every one of the files.
    """
    digests = sorted(hashlib.sha256(raw).digest() for raw in contents)
    h = hashlib.sha256(_SALT_DOMAIN)
    for d in digests:
        h.update(d)
    return h.hexdigest()


def salt_from_files(paths: Iterable[str | Path]) -> str:
    """`salt_from_contents` of the files at `paths`."""
    return salt_from_contents(Path(p).read_bytes() for p in paths)


def pseudonymise(ids: pd.Series, salt: str) -> pd.Series:
    """Stable pseudonym for each id under one salt: 'P' + 16 hex characters of a salted hash."""
    key = hashlib.sha256(salt.encode("utf-8")).digest()  # any salt length -> a 32-byte key
    unique = pd.unique(ids.astype(str))
    codes = {
        raw: PSEUDONYM_PREFIX
        + hashlib.blake2b(raw.encode("utf-8"), key=key, digest_size=16).hexdigest()[:PSEUDONYM_HEX_CHARS]
        for raw in unique
    }
    if len(set(codes.values())) != len(codes):  # would merge two children: never silently
        raise RuntimeError("pseudonym collision; read again with another salt")
    return ids.astype(str).map(codes)


def suppress(
    df: pd.DataFrame,
    count_cols: list[str] | str,
    threshold: int = 5,
    *,
    display: bool = False,
    hide_zero: bool = False,
) -> pd.DataFrame:
    """Hide counts below `threshold`, as DfE does before publishing.

    Returns a copy. By default hidden counts become NaN and a boolean `suppressed` column says
    which rows lost a count. With `display=True` hidden counts are the string 'c' instead (the
    DfE symbol) and no flag column is added. Zeros are shown unless `hide_zero` (a zero is not
    a small group of children). Secondary suppression (hiding a second cell so that a total
    cannot reveal the first) is not done.
    """
    cols = [count_cols] if isinstance(count_cols, str) else list(count_cols)
    out = df.copy()
    any_hidden = pd.Series(False, index=df.index)
    for col in cols:
        values = pd.to_numeric(df[col], errors="raise")
        hidden = values.lt(threshold) & (values.ne(0) | hide_zero) & values.notna()
        any_hidden |= hidden
        if display:
            out[col] = values.astype(object).where(~hidden, "c")
        else:
            out[col] = values.astype(float).where(~hidden, np.nan)
    if not display:
        out["suppressed"] = any_hidden
    return out


def round_to(df: pd.DataFrame, cols: list[str] | str, base: int = 10) -> pd.DataFrame:
    """Round counts to the nearest `base` (halves away from zero), as DfE national tables do."""
    cols = [cols] if isinstance(cols, str) else list(cols)
    out = df.copy()
    for col in cols:
        values = pd.to_numeric(df[col], errors="raise").astype(float)
        rounded = np.sign(values) * np.floor(np.abs(values) / base + 0.5) * base
        out[col] = rounded.astype("Int64") if float(base).is_integer() else rounded
    return out
