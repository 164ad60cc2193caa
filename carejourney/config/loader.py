"""Read a YAML config and turn every validation problem into a message naming file and field.

A config may say `extends: other.yaml` and give only what differs: see `deep_merge` for how
the two are combined. Inputs that validate but look mismatched (a population series or UASC
periods outside the run) give warnings rather than errors: see `coverage_warnings`.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..calendar import fy_label, fy_start_year, year_ending_31_march
from ..strict import NOT_A_NUMBER
from .placement_ages import opening_age_warnings, placement_age_warnings
from .plausibility import demand_warnings
from .schema import Config


class ConfigError(ValueError):
    """A config that cannot be used. The message names the file and every bad field."""


class ConfigWarning(UserWarning):
    """A config that can be used but probably does not say what was meant. The message
    names the file and the field."""


# pydantic names the member of a union it tried (`list[str]`, `literal['all']`): not part of
# the file's path, so left out of the field's name. Bracketed names only: a key the user chose
# (a lever named `date`) is part of the path.
_UNION_MEMBER = re.compile(r"^[a-z-]+\[.*\]$")


def _field_path(loc) -> str:
    parts = []
    for p in loc:
        if isinstance(p, str) and _UNION_MEMBER.match(p):
            continue
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p in ("fixed", "exponential", "lognormal", "gamma", "weibull", "empirical"):
            parts.append(f"<{p}>")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


# "demand.uasc.periods[0]: ..." - a dotted field path, then the message
_NAMED_FIELD = re.compile(r"^([a-z_][a-z0-9_]*(?:\[\d+\])?(?:\.[A-Za-z0-9_]+(?:\[\d+\])?)*): (.+)$", re.DOTALL)


def format_validation_error(source: str, err: ValidationError, what: str = "config") -> str:
    """Every problem in `err`, one a line, under `<source>: N problem(s) in the <what>:`;
    `what` names the kind of file, e.g. "experiment file"."""
    problems: dict[str, list[str]] = {}  # field -> messages: a union's members fail together
    for e in err.errors():
        loc = e["loc"]
        if e["type"] == NOT_A_NUMBER:
            loc = (*loc, *e["ctx"]["at"])
        field = _field_path(loc) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        named = [_NAMED_FIELD.match(line) for line in msg.split("\n")] if field == "(top level)" else [None]
        if all(named):  # a whole-file check's problems, one "field: message" a line (plausibility.demand_errors)
            for m in named:
                msgs = problems.setdefault(m.group(1), [])
                if not msgs:
                    msgs.append(m.group(2))
                elif m.group(2) not in msgs[-1]:  # two problems of one field, not alternatives ("or")
                    msgs[-1] += "; " + m.group(2)
            continue
        if e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling and the unit in the name)"
        elif e["type"].startswith("date_"):  # 20150401 is read as a timestamp, 01/04/2015 as nothing
            msg = f"should be a date written YYYY-MM-DD (e.g. 2015-04-01), not {e['input']!r}"
        elif e["type"] in ("union_tag_not_found", "union_tag_invalid"):  # pydantic's words (QA15)
            ctx = e.get("ctx") or {}
            key = ctx.get("discriminator", "kind").strip("'")
            what, example = {"dist": ("prior", "dist: beta")}.get(key, ("distribution", f"{key}: lognormal"))
            msg = (f"{key}: {ctx.get('tag')!r} is not one of {ctx.get('expected_tags', '')}"
                   if e["type"] == "union_tag_invalid" else
                   f"needs a {key} saying which {what} it is (e.g. {example}; docs/config-reference.md lists them)")
        elif e["type"] == "model_attributes_type":
            msg = f"should be a mapping of fields{_mapping_example(field)}, not {e['input']!r}"
        if msg not in problems.setdefault(field, []):
            problems[field].append(msg)
    lines = [f"{source}: {len(problems)} problem(s) in the {what}:"]
    lines += [f"  - {field}: {_either(msgs)}" for field, msgs in problems.items()]
    return "\n".join(lines)


def _mapping_example(field: str) -> str:
    """An example mapping for a field given a plain number: a prior (`dist`) for an effect or
    an uncertainty entry, a duration (`kind`) for a field in days (QA15: effect got kind)."""
    last = field.rsplit(".", 1)[-1]
    if last in ("effect", "prior"):
        return " (a prior, e.g. {dist: fixed, value: 0.9})"
    if "days" in last:
        return " (a distribution, e.g. {kind: fixed, days: 30})"
    return ""


def _either(msgs: list[str]) -> str:
    """One message for a field whose every alternative failed: 'Input should be a valid list
    or 'all'', not the two of pydantic's messages in full."""
    lead = "Input should be "
    if len(msgs) > 1 and all(m.startswith(lead) for m in msgs):
        return lead + " or ".join(m.removeprefix(lead) for m in msgs)
    return " or ".join(msgs)


def parse_config(data: dict, source: str = "<config>") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, not {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from None


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the
    last silently) and naming the line of an impossible date such as 2021-02-30.

    Merge keys (`<<: *anchor`) work as YAML specifies: the keys written in the mapping
    override the merged ones, and only a key written twice in the mapping is a duplicate."""

    def construct_mapping(self, node, deep=False):
        # the keys written here, before flatten_mapping puts the merged ones among them
        # (a merge key's node has no constructor of its own: it must not be constructed)
        written = [k for k, _ in node.value] if isinstance(node, yaml.MappingNode) else []
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)  # as SafeConstructor.construct_mapping does
        seen = set()
        for key_node in written:
            key = "<<" if key_node.tag == _MERGE_TAG else self.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):  # unhashable: `{[a, b]: 1}` would be a TypeError
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key cannot be a {'list' if isinstance(key, list) else 'mapping'} ({key!r})",
                    key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)

    def process_directives(self):
        # what this loader reads is YAML 1.2 (below); a file asking for another version would
        # silently get it instead (QA21: `%YAML 1.1` and then 010 read as ten, not octal 8)
        token = self.peek_token()
        value = super().process_directives()
        if value[0] not in (None, (1, 2)):
            raise yaml.constructor.ConstructorError(
                None, None, f"%YAML {value[0][0]}.{value[0][1]}: configs are read as YAML 1.2 (in YAML 1.1, 010 is "
                "octal 8 and yes/no/on/off are true/false); remove the %YAML line and write numbers and true/false "
                "as YAML 1.2 reads them", token.start_mark)
        return value

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as err:
            raise yaml.constructor.ConstructorError(None, None, f"invalid date {node.value!r} ({err})",
                                                    node.start_mark) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)
# Numbers and booleans as YAML 1.2 reads them (its core schema), not as YAML 1.1 (PyYAML)
# does: 1e3 is a number (1.1: text), while 010 is ten (1.1: octal 8), and 7:58 and 1_000 are
# text (1.1: sexagesimal 478 and 1000), which the schema then refuses as "not a number"; only
# true/false are booleans, so a key `yes:` or `no:` is the word (1.1: True, shown as "[1]").
_INT, _FLOAT, _BOOL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT, _BOOL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_StrictLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_StrictLoader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_StrictLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


_StrictLoader.add_constructor(_INT, _construct_int)


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a YAML file")
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.load(f, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        kind = "YAML error" if isinstance(err, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise ConfigError(f"{path}: {kind}{where}: {problem}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except RecursionError:
        raise ConfigError(f"{path}: YAML nested too deeply to read (thousands of levels): a typo?") from None


def deep_merge(base: dict, override: dict) -> dict:
    """`override` on top of `base`: mappings merge key by key, anything else replaces.

    A mapping with a `kind` (a distribution) whose kind differs from the base's replaces
    the base's mapping whole: an `empirical` over an inherited `lognormal` must not keep its
    `mean_days`. With the same kind it merges, so a child may change only `mean_days`."""
    out = dict(base)
    for k, v in override.items():
        old = out.get(k)
        if isinstance(v, dict) and isinstance(old, dict) and not ("kind" in v and v["kind"] != old.get("kind")):
            out[k] = deep_merge(old, v)
        else:
            out[k] = v
    return out


def read_config_data(path: str | Path) -> dict:
    """A config's data, with `extends: other.yaml` (relative to the file) resolved."""
    return read_config_chain(path)[0]


def read_config_chain(path: str | Path) -> tuple[dict, list[Path]]:
    """A config's data with `extends:` resolved, and the files it extends, nearest first."""
    return _read_with_parents(Path(path), ())


def _read_with_parents(path: Path, seen: tuple) -> tuple[dict, list[Path]]:
    """(the config's data with its `extends:` resolved, the files it extends, nearest first)."""
    data = read_yaml(path)
    if data is None:  # YAML reads an empty or comment-only file as null
        raise ConfigError(f"{path}: is empty (nothing but blank lines or comments): a config needs its sections")
    if not isinstance(data, dict) or "extends" not in data:
        return data, []
    extends = data.pop("extends")
    if not isinstance(extends, str) or not extends:
        raise ConfigError(f"{path}: extends: must be one file name (relative to this file), not {extends!r}")
    base_path = path.parent / extends
    if base_path.resolve() in seen or base_path.resolve() == path.resolve():
        raise ConfigError(f"{path}: extends: {base_path} makes a loop")
    if not base_path.exists():
        raise ConfigError(f"{path}: extends: no such file {base_path}")
    if base_path.is_dir():
        raise ConfigError(f"{path}: extends: {base_path} is a folder, not a config file")
    try:
        base, parents = _read_with_parents(base_path, seen + (path.resolve(),))
    except ConfigError as err:  # name the file that reached it too (QA15: "empty.yaml: is empty" alone)
        msg = str(err)
        if f"(extended by {path})" not in msg and msg.startswith(f"{base_path}:"):
            msg = f"{base_path} (extended by {path}):" + msg.removeprefix(f"{base_path}:")
        raise ConfigError(msg) from None
    if not isinstance(base, dict):
        raise ConfigError(f"{base_path} (extended by {path}): the top level must be a mapping of sections, "
                          f"not {type(base).__name__}")
    return deep_merge(base, data), [base_path, *parents]


# Memory of one replication, measured (QA round 13, peak RSS): England's ~69,550 looked after
# took 1.48 GB over 6 years and 2.70 GB over 12, ~3.2 KB per child-year of the stock (the event
# log and the children) above ~0.15 GB of libraries. 50 years of England would need ~12 GB.
MEMORY_GB_BASE, MEMORY_BYTES_PER_CHILD_YEAR, MEMORY_WARNING_GB = 0.15, 3.5e3, 8.0


def replication_memory_gb(cfg: Config) -> float:
    """A rough estimate of one replication's peak memory, from the opening stock and the run's length."""
    years = (cfg.horizon.end_date - cfg.horizon.simulated_from).days / 365.25
    return MEMORY_GB_BASE + MEMORY_BYTES_PER_CHILD_YEAR * cfg.opening.children * years / 1e9


# UASC arrive in waves (DOMAIN.md): one rate over more than this is a typo more often than a plan
LONG_UASC_PERIOD_YEARS = 20


def _share_in_run(p, first, last) -> float:
    """The share of a UASC period's arrivals inside the run (spread evenly over the period)."""
    inside = (min(p.to_date, last + dt.timedelta(days=1)) - max(p.from_date, first)).days
    return max(inside, 0) / (p.to_date - p.from_date).days


def coverage_warnings(cfg: Config) -> list[str]:
    """What in a valid config probably does not match its horizon, one message a field.

    Warnings, not errors: the run works (a population outside the run is extrapolated
    with growth_per_year; UASC periods outside it add no one), but the inputs were likely
    meant for another run. Errors are kept for what would make the results empty or wrong."""
    h = cfg.horizon
    first = h.simulated_from
    out = []
    # population years end on 31 March: year y is the financial year from 1 April y - 1
    in_run = range(year_ending_31_march(h.start_date), year_ending_31_march(h.end_date) + 1)
    years = sorted(cfg.population.children_0_17_by_year)
    if not any(y in in_run for y in years):
        out.append(f"population.children_0_17_by_year: no year within the run {h.start_date} to {h.end_date} "
                   f"(years ending 31 March {in_run[0]}-{in_run[-1]}; given {years[0]}-{years[-1]}): the "
                   "population is extrapolated with growth_per_year")
    # a period after the end is usual (a shortened run of a config); one before the start,
    # or no period in the run at all, is not
    periods = cfg.demand.uasc.periods
    for i, p in enumerate(periods):
        if p.to_date <= first:
            out.append(f"demand.uasc.periods[{i}]: {p.from_date} to {p.to_date} ends before the run "
                       f"({first} to {h.end_date}) starts: its {p.arrivals:g} arrivals are not simulated")
        elif p.from_date < first and (share := _share_in_run(p, first, h.end_date)) < 0.95:
            # arrivals are spread evenly over the period (QA15: from 1900 gave ~none)
            out.append(f"demand.uasc.periods[{i}]: {p.from_date} to {p.to_date} starts before the run ({first}): "
                       f"its {p.arrivals:g} arrivals are spread evenly over the period, so only {share:.0%} of them "
                       "arrive in the run")
        years = (p.to_date - p.from_date).days / 365.25
        if years > LONG_UASC_PERIOD_YEARS:  # QA15: to_date 2121 for 2021 cut the arrivals twentyfold, unseen
            out.append(f"demand.uasc.periods[{i}]: {p.from_date} to {p.to_date} spreads its {p.arrivals:g} arrivals "
                       f"evenly over {years:.0f} years ({p.arrivals / years:.3g} a year): a typo in a date?")
    if periods and all(p.from_date > h.end_date for p in periods if p.to_date > first):
        out.append(f"demand.uasc.periods: no period overlaps the run {first} to {h.end_date}: no UASC arrive")
    else:
        # QA18: a period moved past the end (a typo in a year?) left the run's last four years
        # with no arrivals, unseen; a period after the end with the run covered is usual
        after = [(i, p) for i, p in enumerate(periods) if p.from_date > h.end_date]
        reach = max([p.to_date for p in periods if p.from_date <= h.end_date] + [first])
        # (under a month short of the end is a to_date written as the last day, not a typo)
        if after and (h.end_date - reach).days >= 31:
            i, p = after[0]
            out.append(f"demand.uasc.periods[{i}]: {p.from_date} to {p.to_date} starts after the run ends "
                       f"({h.end_date}), and no period covers {reach} to {h.end_date}: no UASC arrive then "
                       "(a typo in a date?)")
    for i, step in enumerate(cfg.demand.referrals.steps):
        if step.from_date < first:
            out.append(f"demand.referrals.steps[{i}]: from {step.from_date}, before the run starts ({first}): it "
                       f"multiplies demand over the whole run by {step.multiplier:g}, as a change to "
                       "per_year_by_age_band would; a date in the run was probably meant")
    fy_first, fy_last = fy_start_year(first), fy_start_year(h.end_date)
    if (h.start_date.month, h.start_date.day) != (4, 1):
        fy0 = fy_start_year(h.start_date)
        out.append(f"horizon.start_date: {h.start_date} is not a 1 April: the tables' first financial year, "
                   f"{fy_label(fy0)}, is a part-year (its starts, ceased and spend cover {h.start_date} to "
                   f"31 March {fy0 + 1} only)")
    if (h.end_date.month, h.end_date.day) != (3, 31):
        out.append(f"horizon.end_date: {h.end_date} is not a 31 March: the tables' last financial year, "
                   f"{fy_label(fy_last)}, is a part-year (its starts, ceased and spend cover 1 April to "
                   f"{h.end_date} only)")
    gb = replication_memory_gb(cfg)
    if gb > MEMORY_WARNING_GB:
        out.append(f"horizon: about {gb:,.0f} GB of memory a replication ({cfg.opening.children:,} "
                   f"looked after over {(h.end_date - first).days / 365.25:,.0f} years; each --workers process holds "
                   "one): more than most machines have; a shorter run or a smaller population needs less")
    # cash prices beyond the index are held at its nearest year (metrics._price_factor)
    c = cfg.costs
    idx = sorted(c.inflation_index_by_year)
    outside = [y for y in range(fy_first, fy_last + 1) if not idx[0] <= y <= idx[-1]]
    if c.report_prices == "cash" and outside:
        out.append(f"costs.inflation_index_by_year: no index for financial year(s) starting {outside[0]}"
                   f"{'-' + str(outside[-1]) if len(outside) > 1 else ''} of the run (given {idx[0]}-{idx[-1]}): "
                   "cash prices there are held at the nearest year's")
    return out


def is_experiment_file(data) -> bool:
    """Whether YAML data is an experiment file, not a config: `experiment:` and no `meta:` (a
    config's). With scenarios: left out it is still one, and `check` says so (QA18: it listed
    13 config errors instead)."""
    return isinstance(data, dict) and "experiment" in data and "meta" not in data


def load_config(path: str | Path, warn: Callable[[str], None] | None = None) -> Config:
    """Read and validate a council config from a YAML file. `warn` receives each warning
    (see `coverage_warnings`), already naming the file; default: `warnings.warn`."""
    return load_config_chain(path, warn)[0]


def load_config_chain(path: str | Path, warn: Callable[[str], None] | None = None
                      ) -> tuple[Config, dict, list[Path]]:
    """load_config, plus the data it was validated from (`extends:` resolved) and the files
    it extends: for commands that go on to change the data (fit, the back-test)."""
    data, chain = read_config_chain(path)
    if is_experiment_file(data) and "horizon" not in data:
        raise ConfigError(f"{path}: this is an experiment file (it has experiment:), not a config: "
                          f"run it with `carejourney experiment {path}`")
    if isinstance(data, dict) and "parameters" in data and "horizon" not in data:
        # QA15: `check` listed parameters/groups/settings as unknown fields, not what the file is
        raise ConfigError(f"{path}: this is a fit-params file (it has parameters:), not a config: give it to "
                          f"`carejourney fit CONFIG --against FIGURES.csv --params {path}`")
    # a bad field may come from a file this one extends: name them all
    source = f"{path} (with {', '.join(map(str, chain))}, which it extends)" if chain else str(path)
    cfg = parse_config(data, source)
    for msg in config_warnings(cfg):
        (warn or _warn)(f"{source}: {msg}")
    return cfg, data, chain


def config_warnings(cfg: Config) -> list[str]:
    """What is valid but probably not meant: inputs that miss the run, implausible demand,
    mixes naming placements the age limits rule out."""
    return (coverage_warnings(cfg) + demand_warnings(cfg) + placement_age_warnings(cfg) + opening_age_warnings(cfg)
            + meaning_warnings(cfg) + unused_field_warnings(cfg))


def meaning_warnings(cfg: Config) -> list[str]:
    """Values the schema accepts that contradict what the field means (QA15)."""
    out = []
    age = cfg.exits.independent_living.from_age_years
    if age < 16:
        out.append(f"exits.independent_living.from_age_years: {age:g} lets children under 16 leave care to live "
                   "independently; the DfE counts it from 16 (DOMAIN.md: independent living 16-17)")
    for i, sv in enumerate(cfg.edge_of_care.services):
        if sv.start_date and sv.start_date > cfg.horizon.end_date:
            out.append(f"edge_of_care.services[{i}].start_date: {sv.start_date} is after the run ends "
                       f"({cfg.horizon.end_date}): {sv.name} never opens")
    return out


def unused_field_warnings(cfg: Config) -> list[str]:
    """Fields kept so that older configs load, which the model does not read (QA14: one set
    to 1 changed nothing, without a word)."""
    if cfg.exits.adoption.concurrent_share:
        return [f"exits.adoption.concurrent_share: {cfg.exits.adoption.concurrent_share:g} is not used: concurrent "
                "placements come from the entry placement mix (placements.at_entry_by_age_band, concurrent_foster_to_adopt) "
                "and the concurrency lever; set it there"]
    return []


def _warn(msg: str):
    warnings.warn(msg, ConfigWarning, stacklevel=3)  # pointing at load_config's caller
