"""Writing a run's tables: Parquet and CSV, all or nothing.

Everything is written into a temporary folder beside the target and renamed into place
at the end, so a run that fails (bad input, Ctrl-C) leaves no half-written results.
The staging folders and files (`staging_dir`, `staging_file`, also used by the report and
by calibrate) get the modes the umask gives any new folder or file, as the results would
if written in place: tempfile.mkdtemp and mkstemp make them 0700 and 0600, and the rename
would carry that mode to the results.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

# as tempfile.mkstemp opens its file, but with 0666 (less the umask) instead of 0600
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def _staging_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")


def staging_dir(target: str | Path) -> Path:
    """Make and return an empty folder beside `target` (`.<name>.tmp-<random>`) to build it in.

    Made with mkdir, not tempfile.mkdtemp: mkdtemp's 0700 would become the target's mode
    when the folder is renamed into place; mkdir gives the mode the umask allows."""
    target = Path(target)
    while True:
        tmp = _staging_name(target)
        try:
            tmp.mkdir()
            return tmp
        except FileExistsError:
            continue


def staging_file(target: str | Path) -> tuple[int, Path]:
    """Create an empty file beside `target` (`.<name>.tmp-<random>`) to write it in; return
    (open file descriptor for writing, path).

    Not tempfile.mkstemp, whose 0600 would become the target's mode when the file is renamed
    into place: this one gets the mode the umask allows (0644 under the usual 022)."""
    target = Path(target)
    while True:
        tmp = _staging_name(target)
        try:
            return os.open(tmp, _NEW_FILE, 0o666), tmp
        except FileExistsError:
            continue


@contextmanager
def atomic_dir(target: str | Path):
    """Yield a temporary folder; on success it replaces `target`, on failure it vanishes."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(target)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def write_table(df: pd.DataFrame, folder: Path, name: str, csv: bool = True):
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(str)
    out.to_parquet(folder / f"{name}.parquet", index=False)
    if csv:
        out.to_csv(folder / f"{name}.csv", index=False)


def write_manifest(folder: Path, **fields):
    with open(folder / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(fields, f, indent=2, default=str)
