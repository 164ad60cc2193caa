"""Experiments: common random numbers, paired savings, parallel == serial == Dask, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from carejourney.experiment import (
    ChunkTask,
    ExperimentError,
    batch_key,
    code_fingerprint,
    load_experiment,
    plan_tasks,
    run_chunk,
    run_experiment,
)
from carejourney.levers import activate, prices_only
from carejourney.model.modifiers import NO_CHANGE
from carejourney.runner import run_replication, run_repriced
from tests.conftest import DEFAULT_CONFIG
from tests.functional.experiment_helpers import LEVERS, write_experiment


def _tables(out):
    return {n: pd.read_parquet(out / f"{n}.parquet") for n in ("summary", "savings", "targets", "monthly_bands")}


def _copy(results, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(results, out)
    return out


def _assert_same_tables(a, b):
    for name, df in _tables(a).items():
        pd.testing.assert_frame_equal(df, _tables(b)[name], check_exact=True)


def test_zero_effect_lever_gives_exactly_the_baseline(finished):
    _, out = finished
    a = pd.read_parquet(out / "annual.parquet")
    base = a[a.scenario == "baseline"].drop(columns="scenario").reset_index(drop=True)
    none = a[a.scenario == "nothing"].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(base, none)


def test_results_read_back_as_text_and_numbers_not_categories(finished):
    """Aggregation holds labels as categories (memory); the files hold them as text, so a
    reader gets the same tables as before, and the CSV the same labels."""
    _, out = finished
    for name in ("annual", "summary", "savings", "targets", "monthly_bands"):
        df = pd.read_parquet(out / f"{name}.parquet")
        assert not any(isinstance(t, pd.CategoricalDtype) for t in df.dtypes), name
        assert pd.api.types.is_string_dtype(df["scenario"]), name
        assert all(pd.api.types.is_string_dtype(t) or pd.api.types.is_numeric_dtype(t) for t in df.dtypes), name
        if name != "annual":
            csv = pd.read_csv(out / f"{name}.csv")
            assert list(csv.columns) == list(df.columns) and (csv["scenario"] == df["scenario"]).all(), name


@pytest.mark.parametrize("lever", [
    {"kind": "inhouse_recruitment", "pool": "inhouse_foster"},
    {"kind": "recruitment_funnel", "pool": "inhouse_foster", "enquiries_per_year": 200, "places_per_household": 1.5},
])
def test_recruitment_with_no_effect_is_exactly_the_baseline(tmp_path, lever):
    """QA: an effect of 0 moved spend by up to £0.6m (mean -£93k): the capacity process redrew
    its stream at the lever's start. A lever's recruits now come from a stream of their own."""
    spec = {**lever, "evidence": "plan-implied", "start_date": "2015-10-01", "ramp_up_days": 60,
            "effect": {"dist": "fixed", "value": 0.0}}
    exp = load_experiment(write_experiment(tmp_path, levers={"none": spec}))
    for r in range(3):
        mods = activate(exp.cfg, exp.spec.levers, ["none"], 11, r)
        with_lever = run_replication(exp.cfg, 11, r, mods)
        base = run_replication(exp.cfg, 11, r)
        pd.testing.assert_frame_equal(with_lever.annual, base.annual, check_exact=True)


@pytest.mark.parametrize("lever", [
    {"kind": "unit_cost", "cohort": {"placement_types": ["ifa_foster"]}, "effect": {"dist": "fixed", "value": 1.0}},
    {"kind": "allowance", "allowance": "sgo_allowance", "effect": {"dist": "fixed", "value": 1.0}},
    {"kind": "parental_contribution", "share": 0.2, "effect": {"dist": "fixed", "value": 0.0}},
])
def test_a_price_lever_with_no_effect_is_exactly_the_baseline_through_its_ramp(tmp_path, lever):
    """A ramp prices by monthly steps; steps that all leave the price as it is moved spend by ~1e-15."""
    spec = {**lever, "evidence": "plan-implied", "start_date": "2015-10-01", "ramp_up_days": 200}
    exp = load_experiment(write_experiment(tmp_path, levers={"none": spec}))
    for r in range(2):
        mods = activate(exp.cfg, exp.spec.levers, ["none"], 11, r)
        pd.testing.assert_frame_equal(run_replication(exp.cfg, 11, r, mods).annual,
                                      run_replication(exp.cfg, 11, r).annual, check_exact=True)


def test_a_price_only_scenario_priced_on_the_baseline_equals_its_own_simulation(finished):
    path, _ = finished
    exp = load_experiment(path)
    levers = exp.spec.levers
    assert prices_only(levers, ["cheaper_ifa"]) and not prices_only(levers, ["cheaper_ifa", "atc"])
    for r in range(2):
        mods = activate(exp.cfg, levers, ["cheaper_ifa"], 11, r)
        base, repriced = run_repriced(exp.cfg, 11, r, NO_CHANGE, [NO_CHANGE, mods])
        simulated = run_replication(exp.cfg, 11, r, mods)
        pd.testing.assert_frame_equal(repriced.annual, simulated.annual, check_exact=True)
        pd.testing.assert_frame_equal(repriced.monthly, simulated.monthly, check_exact=True)
        spend = base.annual.query("measure == 'spend_gbp' and breakdown == 'total' and category == 'all'").value
        assert (spend.to_numpy() > repriced.annual.query(
            "measure == 'spend_gbp' and breakdown == 'total' and category == 'all'").value.to_numpy()).any()


def test_price_only_scenarios_ride_on_the_baseline_task(finished, tmp_path):
    path, _ = finished
    tasks, done = plan_tasks(load_experiment(path), 4, 11, tmp_path)
    assert done == 0
    names = [[n for n, _, _ in t.scenarios] for t in tasks]
    assert ["baseline", "cheaper_ifa"] in names and not any(n[0] == "cheaper_ifa" for n in names)
    assert sum(t.replications for t in tasks) == 4 * 6  # every scenario's replications, once


def _entered(cfg, levers, names, r):
    mods = activate(cfg, levers, names, 11, r) if names else None
    ev = (run_replication(cfg, 11, r, mods, keep_events=True) if mods else
          run_replication(cfg, 11, r, keep_events=True)).events
    return set(ev["care_periods"].query("start_day >= 0").child_id), ev


def test_entry_reduction_cuts_entries_in_every_replication(finished):
    """Paired difference has the right sign in every replication. Child by child, a lever
    that diverts some children can only change others' fate through a capacity-limited
    service (a freed place changes who waits): every exception must have been referred."""
    path, _ = finished
    exp = load_experiment(path)
    for r in range(4):
        base, _ = _entered(exp.cfg, exp.spec.levers, [], r)
        cut, ev = _entered(exp.cfg, exp.spec.levers, ["fewer_teens"], r)
        assert len(cut) < len(base)
        extra = cut - base
        referred = set(ev["edge_of_care"].query("outcome == 'referred_to_service'").child_id)
        assert extra <= referred
        assert len(extra) <= 0.02 * len(base)


def test_without_services_diverting_children_never_brings_anyone_else_in(tmp_path):
    path = write_experiment(tmp_path)
    council = tmp_path / "council.yaml"
    council.write_text(council.read_text() + "edge_of_care:\n  services: []\n")
    exp = load_experiment(path)
    for r in range(3):
        base, _ = _entered(exp.cfg, exp.spec.levers, [], r)
        cut, _ = _entered(exp.cfg, exp.spec.levers, ["fewer_teens"], r)
        assert cut < base  # a strict subset, child by child


def test_paired_savings_have_the_right_sign(finished):
    _, out = finished
    s = pd.read_parquet(out / "savings.parquet")
    starts = s[(s.scenario == "fewer_teens") & (s.measure == "starts_reduction_children") & (s.period == "2016-17")]
    assert float(starts.q05.iloc[0]) > 0
    cheaper = s[(s.scenario == "cheaper_ifa") & (s.measure == "spend_gbp_saving") & (s.period == "2016-17")]
    assert float(cheaper.q05.iloc[0]) > 0 and float(cheaper.p_positive.iloc[0]) == 1.0
    # a price change does not move any child: LAC is exactly the baseline's
    lac = s[(s.scenario == "cheaper_ifa") & (s.measure == "lac_reduction_children")]
    assert (lac[["mean", "q05", "q95"]].to_numpy() == 0).all()


def test_targets_and_bands_are_written(finished):
    _, out = finished
    t = _tables(out)
    targets = t["targets"]
    assert set(targets.target) == {"LAC 2017 <= 600", "saving 2016-17"}
    assert targets.probability.between(0, 1).all()
    bands = t["monthly_bands"]
    assert (bands.q05 <= bands.q50).all() and (bands.q50 <= bands.q95).all()
    assert json.loads((out / "manifest.json").read_text())["complete"] is True


def test_several_final_year_lac_targets_and_a_category_target(tmp_path, capsys):
    """QA22: two LAC targets in the final year were a traceback after the batch (no report); an
    under-1s target was taken as the total LAC's in the headline and drawn on its fan chart."""
    from carejourney.cli import main

    targets = [{"name": "LAC 2017 <= 600", "measure": "lac_children", "period": "2016-17", "at_most": 600},
               {"name": "Under-1s 2017 <= 5", "measure": "lac_children", "breakdown": "age_band",
                "category": "under_1", "period": "2016-17", "at_most": 5},
               {"name": "LAC 2017 >= 500", "measure": "lac_children", "period": "2016-17", "at_least": 500}]
    path = write_experiment(tmp_path / "spec", levers={"nothing": LEVERS["nothing"]},
                            scenarios=[{"name": "baseline"}, {"name": "nothing", "levers": ["nothing"]}],
                            extra={"targets": targets})
    out = tmp_path / "out"
    assert main(["experiment", str(path), "--reps", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "P(target): the share of replications meeting LAC 2017 <= 600 (2 other target(s)" in printed
    t = pd.read_parquet(out / "targets.parquet").drop_duplicates("target").set_index("target")
    assert t.loc["Under-1s 2017 <= 5", ["breakdown", "category"]].tolist() == ["age_band", "under_1"]
    assert t.loc["LAC 2017 <= 600", ["breakdown", "category"]].tolist() == ["total", "all"]
    headline = pd.read_excel(out / "report" / "summary.xlsx", sheet_name="headline")
    assert set(headline["final LAC target"]) == {"LAC 2017 <= 600"}


def test_a_batch_interrupted_while_writing_its_report_leaves_no_out_of_date_report(tmp_path, monkeypatch, capsys):
    """QA22: extended from 2 to 3 replications and interrupted while the report was written, the
    folder's tables said 3 replications and its report 2. The old report is withdrawn before the
    tables change (keeping the actuals it was given), and rerunning writes the new one."""
    import carejourney.report as report
    from carejourney.cli import main

    path = write_experiment(tmp_path / "spec", levers={"nothing": LEVERS["nothing"]},
                            scenarios=[{"name": "baseline"}, {"name": "nothing", "levers": ["nothing"]}])
    out = tmp_path / "out"
    assert main(["experiment", str(path), "--reps", "2", "--out", str(out)]) == 0
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("date,lac_children\n2015-11-30,577\n")
    assert main(["report", str(out), "--actuals", str(actuals)]) == 0
    assert "2 replications" in (out / "report" / "report.html").read_text()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(report, "write_report", interrupted)
        assert main(["experiment", str(path), "--reps", "3", "--out", str(out)]) == 130
    assert json.loads((out / "manifest.json").read_text())["replications"] == 3
    assert sorted(p.name for p in (out / "report").iterdir()) == ["actuals.csv"]
    assert main(["experiment", str(path), "--reps", "3", "--out", str(out)]) == 0
    assert "3 replications" in (out / "report" / "report.html").read_text()
    assert (out / "report" / "actuals.csv").read_text() == actuals.read_text()
    capsys.readouterr()


def test_two_workers_and_dask_give_identical_results(finished, tmp_path):
    path, serial = finished
    parallel = run_experiment(path, reps=4, workers=2, out=tmp_path / "parallel", progress=False)
    from dask.distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask_out = run_experiment(path, reps=4, out=tmp_path / "dask", scheduler=cluster.scheduler_address,
                                  progress=False)
    for other in (parallel, dask_out):
        _assert_same_tables(serial, other)


def test_a_scheduler_without_workers_says_so_and_the_batch_runs_when_one_joins(finished, tmp_path, capsys):
    """Dask queues work for absent workers silently: the command looked hung (QA19)."""
    import threading
    import time

    from dask.distributed import LocalCluster
    path, serial = finished
    with LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        box = {}
        runner = threading.Thread(target=lambda: box.setdefault("out", run_experiment(
            path, reps=4, out=tmp_path / "late", scheduler=cluster.scheduler_address, progress=False)))
        runner.start()
        err = ""
        for _ in range(300):
            err += capsys.readouterr().err
            if "has no workers yet" in err:
                break
            time.sleep(0.1)
        assert f"note: the Dask scheduler at {cluster.scheduler_address} has no workers yet" in err
        assert runner.is_alive() and "out" not in box
        cluster.scale(1)
        runner.join(120)
        assert not runner.is_alive()
    _assert_same_tables(serial, box["out"])


def test_an_interrupted_batch_resumes_to_the_same_results(finished, tmp_path):
    path, serial = finished
    out = tmp_path / "resumed"
    exp = load_experiment(path)
    # interrupted: only some chunks got written, and no summaries
    run_chunk(ChunkTask(exp.cfg, exp.spec.levers, 11, 0, 4,
                        [("baseline", [], str(out / "chunks" / "baseline" / "reps_000000_000004.parquet"))],
                        batch=batch_key(exp, 11)))
    (out / "manifest.json").write_text((serial / "manifest.json").read_text().replace('"complete": true', '"complete": false'))
    resumed = run_experiment(path, reps=4, workers=1, out=out, progress=False)
    _assert_same_tables(serial, resumed)


def test_an_extended_batch_keeps_its_short_last_chunk_and_matches_a_batch_run_whole(finished, tmp_path,
                                                                                   monkeypatch, capsys):
    """Chunks used to be cut anew from 0: 2 replications extended to 4 (chunks of 3) computed
    0-3 again beside the unused 0-2. Now the written chunk is kept and 2-3, 3-4 are added."""
    import carejourney.experiment as experiment

    path, serial = finished
    monkeypatch.setattr(experiment, "CHUNK_REPS", 3)
    out = tmp_path / "extended"
    run_experiment(path, reps=2, workers=1, out=out, progress=False)
    first = out / "chunks" / "baseline" / "reps_000000_000002.parquet"
    written = first.stat().st_mtime_ns
    capsys.readouterr()
    run_experiment(path, reps=4, workers=1, out=out, progress=True)
    n = len(load_experiment(path).scenarios)
    assert f"resuming {out}: {2 * n} of {4 * n} scenario-replications already done, {2 * n} to compute" \
        in capsys.readouterr().err
    assert sorted(p.name for p in first.parent.iterdir()) == [
        "reps_000000_000002.parquet", "reps_000002_000003.parquet", "reps_000003_000004.parquet"]
    assert first.stat().st_mtime_ns == written
    _assert_same_tables(serial, out)


def test_a_resumed_batch_says_how_much_was_done(finished, tmp_path, capsys):
    path, serial = finished
    out = tmp_path / "resumed"
    shutil.copytree(serial, out)
    exp = load_experiment(path)
    # one scenario with its own simulation lost its chunks: everything else is done
    lost = next(s.name for s in exp.scenarios[::-1]
                if s.name != "baseline" and not prices_only(exp.spec.levers, exp.spec.lever_names(s)))
    shutil.rmtree(out / "chunks" / lost)
    run_experiment(path, reps=4, workers=1, out=out, progress=True)
    total = 4 * len(exp.scenarios)
    assert (f"resuming {out}: {total - 4} of {total} scenario-replications already done, 4 to compute"
            in capsys.readouterr().err)


def test_rerunning_a_finished_batch_says_it_only_summarises(finished, tmp_path, capsys):
    path, serial = finished
    out = tmp_path / "again"
    shutil.copytree(serial, out)
    run_experiment(path, reps=4, workers=1, out=out, progress=True)
    total = 4 * len(load_experiment(path).scenarios)
    assert f"resuming {out}: all {total} scenario-replications already done; summarising them again" in \
        capsys.readouterr().err


def test_a_damaged_chunk_is_computed_again_on_resume(finished, tmp_path, capsys):
    """QA: a chunk cut short after it was written (a full disk, a copy) made every resume
    stop with a pyarrow traceback, and the folder could not be finished."""
    path, serial = finished
    out = tmp_path / "copy"
    shutil.copytree(serial, out)
    chunk = next((out / "chunks" / "baseline").glob("*.parquet"))
    chunk.write_bytes(chunk.read_bytes()[:100])
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"complete": true', '"complete": false'))
    resumed = run_experiment(path, reps=4, workers=1, out=out, progress=False)
    assert f"note: {chunk}: damaged" in capsys.readouterr().err
    _assert_same_tables(serial, resumed)


def test_a_chunk_damaged_after_planning_is_named_not_a_traceback(finished, tmp_path):
    from carejourney.experiment import read_chunks

    path, serial = finished
    out = tmp_path / "copy"
    shutil.copytree(serial, out)
    chunk = next((out / "chunks" / "baseline").glob("*.parquet"))
    chunk.write_bytes(b"not parquet")
    with pytest.raises(ExperimentError, match=f"{chunk}: chunk of scenario baseline cannot be read"):
        exp = load_experiment(path)
        read_chunks(out, exp.scenarios, 4, batch_key(exp, 11))


def _corrupt_inside(chunk: Path):
    """Damage a chunk's data but not its footer, so the resume's check passes it."""
    data = bytearray(chunk.read_bytes())
    for i in range(200, 400):
        data[i] ^= 0xFF
    chunk.write_bytes(bytes(data))


def test_a_chunk_of_another_seed_is_computed_again_not_summarised_as_paired(finished, tmp_path, capsys):
    """QA19: a chunk copied in from a run with another seed kept its scenario and replication
    numbers, so it was summarised with the rest (a saving of 2.1 became 4.4 [-9.2 to 20.6])."""
    path, serial = finished
    other = run_experiment(path, reps=4, seed=12, workers=1, out=tmp_path / "seed12", progress=False)
    out = _copy(serial, tmp_path)
    chunk = next((out / "chunks" / "baseline").glob("*.parquet"))
    shutil.copy(other / "chunks" / "baseline" / chunk.name, chunk)
    resumed = run_experiment(path, reps=4, workers=1, out=out, progress=False)
    assert f"note: {chunk}: was written by another batch (another seed 12); it is computed again" in capsys.readouterr().err
    _assert_same_tables(serial, resumed)


def _rewrite_values(chunk: Path, change):
    """Rewrite a chunk's value column, keeping its metadata (the batch it names)."""
    t = pq.read_table(chunk)
    pq.write_table(t.set_column(t.column_names.index("value"), "value", change(t.column("value"))), chunk)


def _overwrite_values_unseen(chunk: Path):
    """Overwrite 16 bytes of the value column's page where the file still decodes, to other
    finite numbers (snappy copies literal bytes: 'XXXXXXXX' is 1.9e116), as QA did: only the
    page checksum can tell."""
    group = pq.ParquetFile(chunk).metadata.row_group(0)
    col = next(group.column(i) for i in range(group.num_columns) if group.column(i).path_in_schema == "value")
    start = col.dictionary_page_offset or col.data_page_offset
    original, before = chunk.read_bytes(), pq.read_table(chunk).column("value")
    for at in range(start + col.total_compressed_size - 24, start, -8):
        data = bytearray(original)
        data[at: at + 16] = b"X" * 16
        chunk.write_bytes(bytes(data))
        try:
            after = pq.read_table(chunk, page_checksum_verification=False).column("value")
        except (OSError, pa.ArrowException):
            continue
        if not after.equals(before):
            return
    raise AssertionError("no overwrite that still decodes")


@pytest.mark.parametrize("damage", ["data", "another_scenario", "nan", "inf", "text", "bytes_in_a_page"])
def test_a_chunk_found_bad_when_summarising_is_removed_and_a_rerun_recomputes_it(finished, tmp_path, damage):
    """QA14: a chunk with a sound footer but corrupt data passed the resume's check, and every
    rerun met the same error; a chunk copied from another scenario was summarised unseen.
    QA19: NaN values were summarised silently (replications left out, P(target) halved), bytes
    overwritten inside a page (footer intact) gave means of 1e116, and text values a traceback."""
    path, serial = finished
    out = _copy(serial, tmp_path)
    chunk = next((out / "chunks" / "fewer_teens").glob("*.parquet"))
    if damage == "data":
        _corrupt_inside(chunk)
    elif damage == "another_scenario":
        shutil.copy(out / "chunks" / "baseline" / chunk.name, chunk)
    elif damage == "bytes_in_a_page":
        _overwrite_values_unseen(chunk)
    else:
        bad = {"nan": float("nan"), "inf": float("inf")}
        _rewrite_values(chunk, lambda v: pa.array(
            [str(x) for x in v.to_pylist()] if damage == "text" else [bad[damage]] + v.to_pylist()[1:]))
    with pytest.raises(ExperimentError, match=f"{chunk}: chunk of scenario fewer_teens .*; it was removed: rerun"):
        run_experiment(path, reps=4, workers=1, out=out, progress=False)
    assert not chunk.exists()
    resumed = run_experiment(path, reps=4, workers=1, out=out, progress=False)
    _assert_same_tables(serial, resumed)


def test_a_resume_removes_what_a_killed_command_was_writing(finished, tmp_path):
    """QA19: a chunk's .tmp and the summaries' staging folder, left by kill -9, stayed after a
    successful resume."""
    path, serial = finished
    out = _copy(serial, tmp_path)
    left = [out / "chunks" / "baseline" / "reps_000000_000004.12345.tmp", out / ".manifest.12345.tmp"]
    for f in left:
        f.write_bytes(b"half")
    (out / "..aggregate.tmp-0badf00d").mkdir()
    (out / "..aggregate.tmp-0badf00d" / "annual.parquet").write_bytes(b"half")
    _assert_same_tables(serial, run_experiment(path, reps=4, workers=1, out=out, progress=False))
    assert not any(f.exists() for f in left) and not (out / "..aggregate.tmp-0badf00d").exists()
    assert json.loads((out / "manifest.json").read_text())["complete"] is True


def test_a_cut_short_manifest_is_refused_with_a_message(finished, tmp_path):
    """QA14: a truncated manifest.json in --out gave a traceback (exit 1)."""
    path, serial = finished
    out = _copy(serial, tmp_path)
    (out / "manifest.json").write_text((out / "manifest.json").read_text()[:100])
    with pytest.raises(ExperimentError, match="manifest.json: not valid JSON"):
        run_experiment(path, reps=4, workers=1, out=out, progress=False)


def test_a_second_command_writing_the_same_results_at_once_is_refused(finished, tmp_path):
    """QA14: two runs into one --out at once both computed nearly everything."""
    fcntl = pytest.importorskip("fcntl")
    path, serial = finished
    out = _copy(serial, tmp_path)
    before = (out / "manifest.json").read_text()
    with open(out / ".lock", "a") as held:  # as the first command holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ExperimentError, match="another experiment command is writing these results now"):
            run_experiment(path, reps=4, workers=1, out=out, progress=False)
    assert (out / "manifest.json").read_text() == before
    # released (here, as when a process ends however it ends): the folder resumes
    _assert_same_tables(serial, run_experiment(path, reps=4, workers=1, out=out, progress=False))
    # and a folder left holding only the lock (stopped before its manifest) is taken
    only_lock = tmp_path / "only_lock"
    only_lock.mkdir()
    (only_lock / ".lock").touch()
    _assert_same_tables(serial, run_experiment(path, reps=4, workers=1, out=only_lock, progress=False))


def test_an_out_folder_of_another_command_is_refused(finished, tmp_path):
    """QA: --out into a `run` folder said 'cannot resume: fingerprint None -> ...'."""
    path, _ = finished
    other = tmp_path / "run"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"command": "run", "files": []}))
    with pytest.raises(ExperimentError, match="holds results of another command"):
        run_experiment(path, reps=1, workers=1, out=other, progress=False)


def test_resume_with_a_changed_experiment_is_refused(finished, tmp_path):
    path, serial = finished
    out = tmp_path / "copy"
    shutil.copytree(serial, out)
    changed = write_experiment(tmp_path / "changed", extra={"experiment": {"name": "small", "config": "council.yaml",
                                                                            "replications": 4, "seed": 11,
                                                                            "description": "edited"}})
    with pytest.raises(ExperimentError, match="cannot resume: the experiment or config file changed") as err:
        run_experiment(changed, reps=4, out=out, progress=False)
    # QA14: which file, not "the experiment or config file"
    assert str(changed.resolve()) in str(err.value) and "council.yaml" not in str(err.value)


def test_resume_names_a_changed_config_and_another_experiment(finished, tmp_path):
    path, serial = finished
    copy = tmp_path / "spec"
    shutil.copytree(path.parent, copy)
    out = tmp_path / "copy"
    shutil.copytree(serial, out)
    council = copy / "council.yaml"
    council.write_text(council.read_text() + "# a comment\n")
    with pytest.raises(ExperimentError, match="cannot resume") as err:
        run_experiment(copy / "experiment.yaml", reps=4, out=out, progress=False)
    assert f"({council.resolve()}; even a comment counts" in str(err.value)
    other = write_experiment(tmp_path / "other", extra={"experiment": {"name": "other", "config": "council.yaml",
                                                                       "replications": 4, "seed": 11}})
    with pytest.raises(ExperimentError, match=r"holds results of experiment 'small' \(.*experiment.yaml\), not 'other'"):
        run_experiment(other, reps=4, out=out, progress=False)


def test_resume_on_edited_code_is_refused(finished, tmp_path):
    """A working copy can change the model without a new version: the batch records a hash
    of the package's source, and stale chunks are not mixed with new ones."""
    path, serial = finished
    manifest = json.loads((serial / "manifest.json").read_text())
    assert manifest["code_fingerprint"] == code_fingerprint()
    out = tmp_path / "copy"
    shutil.copytree(serial, out)
    manifest["code_fingerprint"] = "0" * 16
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExperimentError, match="cannot resume: carejourney's code changed"):
        run_experiment(path, reps=4, out=out, progress=False)


def test_a_worker_running_other_code_refuses_its_chunk(finished, tmp_path):
    """On a cluster each Dask worker has its own install: one with other code must not add
    its numbers to the batch."""
    path, _ = finished
    exp = load_experiment(path)
    tasks, _ = plan_tasks(exp, 2, 11, tmp_path / "out")
    assert tasks and all(t.code == code_fingerprint() for t in tasks)
    assert all(Path(p).is_absolute() for t in tasks for _, _, p in t.scenarios)  # workers have other cwds
    stale = tasks[0]
    stale.code = "0" * 16
    with pytest.raises(ExperimentError, match="a worker runs different carejourney code"):
        run_chunk(stale)
    assert not (tmp_path / "out").exists()


def test_common_random_numbers_shrink_the_variance_of_a_lever_effect(tmp_path):
    """The paired difference (same seed) is far less noisy than two independent runs.
    The lever's effect size is fixed, so the spread of the differences is the system's
    noise alone, not the uncertainty about the effect that an experiment adds on purpose."""
    levers = {"fewer_teens": {**LEVERS["fewer_teens"], "effect": {"dist": "fixed", "value": 0.3}}}
    exp = load_experiment(write_experiment(tmp_path, levers=levers))

    def lac(seed, r, names):
        mods = activate(exp.cfg, exp.spec.levers, names, seed, r) if names else None
        res = run_replication(exp.cfg, seed, r, mods) if mods else run_replication(exp.cfg, seed, r)
        a = res.annual
        return float(a[(a.measure == "lac_children") & (a.breakdown == "total") & (a.period == "2016-17")].value.iloc[0])

    baseline = [lac(5, r, []) for r in range(16)]
    paired = [b - lac(5, r, ["fewer_teens"]) for r, b in enumerate(baseline)]
    independent = [b - lac(6, r, ["fewer_teens"]) for r, b in enumerate(baseline)]
    assert min(paired) > 0  # fewer entries, fewer looked after, in every replication
    assert np.var(paired, ddof=1) * 4 < np.var(independent, ddof=1)


@pytest.mark.parametrize("change,field,message", [
    ({"levers": {"x": {**LEVERS["nothing"], "kind": "magic"}}}, "levers.x.kind", "unknown lever kind"),
    ({"levers": {"x": {**LEVERS["fewer_teens"], "cohort": {"needs": ["N9_unknown"]}}}}, "levers.x.cohort.needs", "unknown need"),
    ({"levers": {"x": {**LEVERS["fewer_teens"], "cohort": {"shoe_size": 4}}}}, "levers.x.cohort.shoe_size", "unknown field"),
    ({"levers": {"x": {**LEVERS["atc"], "caseload_capacity": -5, "service": None}}}, "levers.x.caseload_capacity", "greater than or equal to 0"),
    ({"levers": {"x": {**LEVERS["fewer_teens"], "ramp_up_days": 2000}}}, "levers.x", "runs past the horizon"),
])
def test_invalid_experiment_files_name_the_field(tmp_path, change, field, message):
    path = write_experiment(tmp_path, levers=change["levers"],
                            scenarios=[{"name": "baseline"}, {"name": "s", "levers": ["x"]}])
    with pytest.raises(ExperimentError) as err:
        load_experiment(path)
    text = str(err.value)
    assert "experiment.yaml" in text and field in text and message in text


def test_scenario_naming_an_unknown_lever_is_refused(tmp_path):
    path = write_experiment(tmp_path, levers={}, scenarios=[{"name": "baseline"}, {"name": "s", "levers": ["ghost"]}])
    with pytest.raises(ExperimentError, match=r"scenarios\[1\]\.levers: scenario s names unknown lever"):
        load_experiment(path)


@pytest.mark.parametrize("target,field,message", [
    ({"name": "t", "measure": "lac_kids", "period": "2016-17", "at_most": 500}, "targets[0] (t).measure", "unknown measure"),
    ({"name": "t", "measure": "lac_children", "period": "2030-31", "at_most": 500}, "targets[0] (t).period",
     "not a financial year of the run"),
    ({"name": "t", "measure": "lac_children", "breakdown": "shoe_size", "period": "2016-17", "at_most": 500},
     "targets[0] (t).breakdown", "is not kept"),
    ({"name": "t", "measure": "spend_gbp_saving", "period": "2030-31", "at_least": 1}, "targets[0] (t).period",
     "or 'total'"),
])
def test_targets_are_checked_before_anything_runs(tmp_path, target, field, message):
    path = write_experiment(tmp_path, extra={"targets": [target]})
    with pytest.raises(ExperimentError) as err:
        run_experiment(path, reps=1, out=tmp_path / "out", progress=False)
    text = str(err.value)
    assert "experiment.yaml" in text and field in text and message in text
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_negative_seed_in_the_experiment_file_is_refused(tmp_path):
    path = write_experiment(tmp_path, extra={"experiment": {"name": "small", "config": "council.yaml", "seed": -7}})
    with pytest.raises(ExperimentError, match=r"experiment\.seed"):
        load_experiment(path)


def test_experiment_file_errors_say_experiment_file(tmp_path):
    path = write_experiment(tmp_path, extra={"experiment": {"name": "small", "config": "council.yaml", "seed": -7}})
    with pytest.raises(ExperimentError, match="experiment file"):
        load_experiment(path)


def _resize_experiment(tmp_path, base_caseload, lever_extra, scenarios=None, levers=None):
    """The default council with MST at `base_caseload`, and a lever resizing it."""
    mst = {"kind": "edge_service", "evidence": "plan-implied", "start_date": "2015-10-01", "service": "multi_systemic_therapy",
           "caseload_capacity": 10, "effect": {"dist": "fixed", "value": 0.35}, **lever_extra}
    path = write_experiment(tmp_path, levers=levers or {"mst": mst}, scenarios=scenarios)
    council = tmp_path / "council.yaml"
    d = yaml.safe_load(council.read_text())
    services = yaml.safe_load(open(DEFAULT_CONFIG, encoding="utf-8"))["edge_of_care"]["services"]
    services[0]["caseload_capacity"] = base_caseload
    d["edge_of_care"] = {"services": services}
    council.write_text(yaml.safe_dump(d))
    return load_experiment(path)


def _mst_requests(exp, names, r):
    mods = activate(exp.cfg, exp.spec.levers, names, 11, r) if names else None
    ev = run_replication(exp.cfg, 11, r, mods, keep_events=True).events if mods else \
        run_replication(exp.cfg, 11, r, keep_events=True).events
    s = ev["services"]
    return s[s.service == "multi_systemic_therapy"].requested_day.to_numpy()


def test_a_lever_opens_a_closed_service_from_its_start_to_its_end(tmp_path):
    """A service with no caseload takes no referrals; a lever giving it one opens it for
    referrals from the lever's start (day 183) to its end (day 366) only."""
    exp = _resize_experiment(tmp_path, 0, {"end_date": "2016-04-01"})
    for r in range(2):
        assert len(_mst_requests(exp, [], r)) == 0
        days = _mst_requests(exp, ["mst"], r)
        assert len(days) > 3 and days.min() >= 183 and days.max() < 366


def test_a_resized_caseload_goes_back_at_the_levers_end(tmp_path):
    exp = _resize_experiment(tmp_path, 2, {"caseload_capacity": 30, "end_date": "2016-04-01"})
    mods = activate(exp.cfg, exp.spec.levers, ["mst"], 11, 0)
    q = run_replication(exp.cfg, 11, 0, mods, keep_events=True).events["queues"]
    q = q[q.service == "multi_systemic_therapy"]
    during = q[(q.day >= 200) & (q.day < 366)]
    after = q[q.day >= 366 + 200]  # once the cases begun before the end have finished (120 days)
    assert during.in_service.max() > 2 and after.in_service.max() <= 2


def test_two_levers_setting_one_services_caseload_in_a_scenario_are_refused(tmp_path):
    base = {"kind": "edge_service", "evidence": "plan-implied", "start_date": "2015-10-01",
            "service": "multi_systemic_therapy", "effect": {"dist": "fixed", "value": 0.35}}
    levers = {"a": {**base, "caseload_capacity": 10}, "b": {**base, "caseload_capacity": 20}}
    with pytest.raises(ExperimentError, match="both set the caseload of service 'multi_systemic_therapy'") as err:
        _resize_experiment(tmp_path, 8, {}, levers=levers)  # the combined plan has both
    assert "combined_plan" in str(err.value)
    alone = [{"name": "baseline"}, {"name": "a", "levers": ["a"]}, {"name": "b", "levers": ["b"]}]
    _resize_experiment(tmp_path, 8, {}, levers=levers, scenarios=alone)  # one scenario each: fine
