"""`carejourney export-903`: simulated journeys written as SSDA903 files."""

from __future__ import annotations

from . import non_negative_int, say


def cmd_export_903(args) -> int:
    from .. import __version__
    from ..config import ConfigError, load_config
    from ..results import atomic_dir, check_out_dir, may_replace, write_manifest
    from ..runner import run_replication
    from ..ssda903 import export_903

    cfg = load_config(args.config)
    _check_years(cfg, args.config)
    out = check_out_dir(args.out, "export-903", "export")  # before simulating
    res = run_replication(cfg, args.seed, args.replication, keep_events=True)
    if res.events["care_periods"].empty:
        # (QA: a traceback) the config is valid, but there is no episode to write
        raise ConfigError(f"{args.config}: no child is looked after in replication {args.replication} "
                          f"(seed {args.seed}): no SSDA903 episodes to write")
    with atomic_dir(out, may_replace("export-903", "export", out)) as tmp:
        written = export_903(res.events, tmp, years=_run_years(cfg, res.events))
        if not written:
            raise ConfigError(f"{args.config}: replication {args.replication} (seed {args.seed}) has no care "
                              "episode in a collection year the code lists cover: no SSDA903 files to write")
        # marks the folder as an export, so a later export may replace it (and nothing else)
        write_manifest(tmp, command="export-903", config=str(args.config), config_name=cfg.meta.name,
                       seed=args.seed, replication=args.replication, carejourney_version=__version__)
    years = ", ".join(str(y) for y in sorted(written))
    print(f"SSDA903 header, episodes and UASC files for collection years {years} written to {args.out}/ "
          f"(replication {args.replication}, seed {args.seed}; synthetic children, not personal data)")
    return 0


def _run_years(cfg, events) -> list[int] | None:
    """With a warm-up, the collection years from the start date's: the warm-up is simulated
    and discarded, so its years are not exported (QA). Without one, export_903's own years."""
    if not cfg.horizon.warmup_days:
        return None
    from ..ssda903.codes import FIRST_YEAR
    from ..ssda903.validate import collection_year

    first = max(collection_year(cfg.horizon.start_date), FIRST_YEAR)
    return list(range(first, collection_year(cfg.horizon.end_date) + 1))


def _check_years(cfg, path):
    """SSDA903 files are written for collection years from 2014-15, the first the code lists
    cover: a run ending before has nothing to write, one starting before loses its first years."""
    from ..calendar import fy_label
    from ..config import ConfigError
    from ..ssda903.codes import FIRST_YEAR
    from ..ssda903.validate import collection_year

    first, first_day = fy_label(FIRST_YEAR - 1), f"1 April {FIRST_YEAR - 1}"
    if collection_year(cfg.horizon.end_date) < FIRST_YEAR:
        raise ConfigError(f"{path}: horizon.end_date {cfg.horizon.end_date}: SSDA903 files are written for "
                          f"collection years from {first} (from {first_day}), and this run ends before it: "
                          "nothing to export")
    if collection_year(cfg.horizon.start_date) < FIRST_YEAR:
        say(f"warning: {path}: horizon.start_date {cfg.horizon.start_date}: collection years before "
            f"{first} are not written (the code lists start on {first_day})")


def add_parser(sub):
    p = sub.add_parser("export-903", help="write a simulated replication's journeys as SSDA903 files")
    p.add_argument("config")
    p.add_argument("--out", required=True, help="folder for one sub-folder per collection year "
                                                "(and manifest.json)")
    p.add_argument("--seed", type=non_negative_int, default=1, help="random seed (default 1)")
    p.add_argument("--replication", type=non_negative_int, default=0, help="which replication (default 0)")
    p.set_defaults(func=cmd_export_903)
