"""Writing a run's tables: Parquet and CSV, all or nothing.

Everything is written into a temporary folder beside the target and renamed into place
at the end, so a run that fails (bad input, Ctrl-C) leaves no half-written results.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def atomic_dir(target: str | Path):
    """Yield a temporary folder; on success it replaces `target`, on failure it vanishes."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
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
