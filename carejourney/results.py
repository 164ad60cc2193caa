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
import pyarrow as pa
import pyarrow.parquet as pq

# as tempfile.mkstemp opens its file, but with 0666 (less the umask) instead of 0600
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def _staging_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")


def _old_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")


def leftovers(target: str | Path) -> list[Path]:
    """What a killed atomic_dir(target) can leave beside it: its staging folder, or the
    previous target it had moved aside."""
    target = Path(target)
    return [*target.parent.glob(f".{target.name}.tmp-*"), *target.parent.glob(f".{target.name}.old-*")]


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


class PathError(ValueError):
    """A path given on the command line that cannot be used (an output that exists as
    something else or cannot be written, a folder where a file is read): bad input, exit
    code 2, found before any work is done."""


def default_out_dir(name: str, source) -> Path:
    """results/<name>, the default output folder of a config named `name`.

    Refused unless it is a child of results/: an empty name would make it results/ itself,
    and '..' or an absolute path a folder elsewhere, and the run replaces its output folder."""
    out = Path(os.path.normpath(Path("results") / name))
    if out.parent != Path("results"):
        raise PathError(f"{source}: meta.name {name!r} cannot be a folder name inside results/: "
                        "use a plain name, or give --out")
    return out


def _writable_parent(target: Path, shown) -> None:
    """Raise PathError unless `target`'s staging folder can be made beside it. Tried for
    real (a folder made and removed in the nearest existing parent): os.access says yes to
    root, even on /proc."""
    parent = target.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise PathError(f"{shown}: {parent} exists and is not a folder")
    try:
        staging_dir(parent / "probe").rmdir()
    except OSError as err:
        raise PathError(f"{shown}: cannot write in {parent} ({err.strerror or err})") from None


def check_out_dir(path: str | Path, command: str, kind: str) -> Path:
    """Check, before any work, that `command` ("run", "export-903") may write its output
    folder at `path`, replacing what is there; return the absolute path to pass to atomic_dir.

    An existing folder is replaced only when empty or a previous output of the same command
    (its manifest.json says so): anything else would be deleted by the swap."""
    target = Path(os.path.abspath(path))  # gives '.' and 'x/..' a name to stage beside
    cwd = Path.cwd()
    if target == cwd or target in cwd.parents or target == target.parent:
        raise PathError(f"{path} is the current folder or holds it: choose another --out")
    if os.path.lexists(target):
        if not target.is_dir():
            raise PathError(f"{path} exists and is not a folder")
        _refuse_unless_ours(target, command, kind, path)
    _writable_parent(target, path)
    return target


def _refuse_unless_ours(target: Path, command: str, kind: str, shown) -> None:
    if any(target.iterdir()) and manifest_command(target) != command:
        raise PathError(f"{shown} exists and is not a carejourney {kind} output folder: "
                        "choose another --out or remove it")
    added = _not_listed(target)
    if added:
        more = f" and {len(added) - 3} more" if len(added) > 3 else ""
        raise PathError(f"{shown} is a carejourney {kind} output folder, but holds what {command} did not write "
                        f"({', '.join(added[:3])}{more}): choose another --out or move them out")


def _not_listed(folder: Path) -> list[str]:
    """What is in an output folder that its manifest's `files` does not list: files someone
    added, another run written inside it. (Manifests from before the listing: nothing.)"""
    try:
        listed = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(listed, list):
        return []
    keep = set(listed) | {"manifest.json"}
    keep |= {str(parent) for name in listed for parent in Path(name).parents if str(parent) != "."}
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if str(p.relative_to(folder)) not in keep)


def _list_outputs(folder: Path) -> None:
    """Record in the folder's manifest.json (if it has one) every file it holds, so that a
    later run replaces the folder only if nothing was added to it since (_not_listed)."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return
    fields = json.loads(manifest.read_text(encoding="utf-8"))
    fields["files"] = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p != manifest)
    write_manifest(folder, **fields)


def may_replace(command: str, kind: str, shown):
    """The check of check_out_dir, for atomic_dir to repeat just before its swap: a folder
    that was empty when the run began may have been filled by something else since."""
    return lambda target: _refuse_unless_ours(target, command, kind, shown)


def check_out_file(path: str | Path) -> Path:
    """Check, before any work, that a file can be written at `path` (not a folder, its
    folder creatable and writable)."""
    target = Path(os.path.abspath(path))
    if target.is_dir():
        raise PathError(f"{path} exists and is a folder")
    _refuse_special_file(target, path)
    _writable_parent(target, path)
    return Path(path)


def _refuse_special_file(target: Path, path) -> None:
    """A device or a pipe at an output path: the atomic replace would swap it for a regular file."""
    if target.exists() and not target.is_file() and not target.is_dir():
        raise PathError(f"{path} exists and is not a regular file")


def check_own_out_file(path: str | Path, command: str, first_line: str, inputs=(), option: str = "--out") -> None:
    """Check, before any work, that `command` ("calibrate", "fit") may replace what is at `path`
    (after check_out_file); raise PathError if not.

    Refused: `path` being the same file as one of `inputs` ((what, path) pairs, e.g. ("--template",
    "t.yaml"): the command would destroy what it reads), or an existing file that `command` did
    not write. A file is taken as the command's own when its first line starts with
    `first_line`, the header comment the command writes at the top of that file (as
    check_out_dir trusts a folder's manifest.json); an empty file may be replaced too."""
    target = Path(path)
    for what, src in inputs:
        if src is not None and _same_file(target, Path(src)):
            raise PathError(f"{path} is the same file as {what} {src}: choose another {option}")
    _refuse_special_file(target, path)
    if not target.is_file():
        return  # nothing there (a folder is check_out_file's to refuse)
    try:
        ours = written_by(target, first_line, empty=True)
    except OSError as err:
        raise PathError(f"{path}: cannot read it to see whether carejourney {command} wrote it "
                        f"({err.strerror or err})") from None
    if not ours:
        raise PathError(f"{path} exists and was not written by carejourney {command}: "
                        f"choose another {option} or remove it")


def written_by(path: Path, first_line: str, empty: bool = False) -> bool:
    """Whether the file at `path` starts with `first_line`, the header comment a command
    writes at the top of its files (a byte-order mark ignored); `empty`: what an empty file
    counts as. OSError if it cannot be read."""
    with open(path, "rb") as f:
        first = f.readline(4096)
    return empty if not first else first.decode("utf-8", "replace").lstrip("\ufeff").startswith(first_line)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # links too
    except OSError:  # one of them does not exist
        return os.path.realpath(a) == os.path.realpath(b)


def manifest_command(folder: Path) -> str | None:
    """The command a folder's manifest.json names (an experiment's names none), if readable."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("command")
    except (OSError, ValueError, AttributeError):
        return None


@contextmanager
def errors_naming(path: str | Path):
    """An OSError that names no file (a full disk, as pyarrow and pandas raise it: "Error
    writing bytes") raised again naming `path`, the output it was writing (QA19)."""
    try:
        yield
    except OSError as err:
        if err.filename is not None:
            raise
        raise OSError(err.errno, err.strerror or str(err), str(path)) from err


@contextmanager
def atomic_dir(target: str | Path, check=None):
    """Yield a temporary folder; on success it replaces `target`, on failure it vanishes
    (also when the final swap fails: the previous `target`, if any, is put back).
    `check(target)`, if given, is called on an existing target just before the swap and
    may raise to keep it (see may_replace)."""
    target = Path(target)
    if os.path.lexists(target) and not target.is_dir():
        raise PathError(f"{target} exists and is not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(target)
    old = None
    try:
        with errors_naming(target):
            yield tmp
        _list_outputs(tmp)
        if check is not None and target.is_dir():
            check(target)
        if os.path.lexists(target):
            old = _old_name(target)
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            if old is not None:
                os.replace(old, target)
                old = None
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already on success
        if old is not None and old.is_symlink():  # --out was a link: the link is replaced, not its folder
            old.unlink()
        elif old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_table(df: pd.DataFrame, folder: Path, name: str, csv: bool = True):
    """`name`.parquet (and .csv), categories written as plain text so they read back as text.
    Arrow casts them: turned into pandas text first, an experiment's 16 million annual rows
    took gigabytes."""
    if any(isinstance(t, pd.CategoricalDtype) for t in df.dtypes):
        table = pa.Table.from_pandas(df, preserve_index=False)
        plain = pa.schema([pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
                           for f in table.schema])
        # the plain schema has none of pandas' metadata, which would bring the categories back
        pq.write_table(table.cast(plain), folder / f"{name}.parquet")
    else:
        df.to_parquet(folder / f"{name}.parquet", index=False)
    if csv:
        # 15 significant digits: exact to what float arithmetic holds, without the noise of the
        # last ("684.6999999999999": QA15); the Parquet file keeps every bit
        df.to_csv(folder / f"{name}.csv", index=False, float_format="%.15g")


def write_manifest(folder: Path, **fields):
    with open(folder / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(fields, f, indent=2, default=str)
