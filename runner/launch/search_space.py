"""An Optuna search space from Hydra's override grammar (hydra/sweeper=optuna).

`hydra.sweeper.params` holds one entry per searched key, written as Hydra users write sweeps:

    interval(a, b)              a float in [a, b]            FloatDistribution(a, b)
    tag(log, interval(a, b))    the same on a log scale      FloatDistribution(a, b, log=True)
    tag(int, interval(a, b))    an integer in [a, b]         IntDistribution(a, b)
    range(a, b[, step])         a, a+step, ... below b       IntDistribution / FloatDistribution(step=...)
    choice(x, y, ...)           one of the values            CategoricalDistribution
    a plain value               pinned: not searched

The command line joins in: `a=1,2` or `a=interval(...)` there adds a searched key, and a key of
the space given plainly on the command line (`optimizer.lr=0.01`) is pinned to that value.
Each problem is one line naming the key (runner.errors.ConfigError). optuna is imported only
when distributions are made, so that the preflight's syntax checks stay cheap."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
from hydra.errors import HydraException

from runner.errors import ConfigError

PARAMS_KEY = "hydra.sweeper.params"
PLAIN = (str, int, float, bool, type(None))  # what Optuna's categorical distribution may hold


@dataclass
class Dimension:
    """One searched key: where it was written (for messages), its kind and its bounds or values."""

    key: str
    where: str  # "hydra.sweeper.params.optimizer.lr" or "optimizer.lr" (the command line)
    kind: str  # "float", "int" or "choice"
    low: Any = None
    high: Any = None
    step: Any = None
    log: bool = False
    choices: List[Any] = field(default_factory=list)

    def distribution(self):
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return FloatDistribution(float(self.low), float(self.high), log=self.log, step=self.step)

    def grid_values(self) -> List[Any]:
        """The values a grid sampler walks: a choice's values or a range's points."""
        if self.kind == "choice":
            return list(self.choices)
        if self.step is None:
            raise ConfigError(
                self.where, "sampler.name=grid needs choice(...) or range(...) here, not an interval (no grid points)"
            )
        count = int(round((self.high - self.low) / self.step)) + 1
        return [self.low + i * self.step for i in range(count)]

    def bounds_as_values(self) -> List[Any]:
        """The values a trial may be given that the schema should see checked before any trial."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]


@dataclass
class SearchSpace:
    dimensions: Dict[str, Dimension]  # searched keys, in the order written
    fixed: List[str]  # overrides every trial gets: the command line's plain ones, pinned keys included
    pinned: Dict[str, str]  # key -> the command line's value, for keys the space also names

    def distributions(self) -> Dict[str, Any]:
        return {key: dim.distribution() for key, dim in self.dimensions.items()}

    def grid(self) -> Dict[str, List[Any]]:
        return {key: dim.grid_values() for key, dim in self.dimensions.items()}


def build(params: Optional[Mapping[str, Any]], arguments: List[str]) -> SearchSpace:
    """The space of `params` (hydra.sweeper.params) with the command line's `arguments`
    (task overrides) joined in; ConfigError naming the key for a space that cannot be searched."""
    parser = OverridesParser.create()
    given = parser.parse_overrides(list(arguments))
    plain_keys = {o.key_or_group for o in given if not o.is_sweep_override()}
    dimensions: Dict[str, Dimension] = {}
    fixed: List[str] = []
    pinned: Dict[str, str] = {}
    for key, value in _flat(params or {}).items():
        where = f"{PARAMS_KEY}.{key}"
        if key in plain_keys:
            pinned[key] = next(o.input_line.split("=", 1)[1] for o in given if o.key_or_group == key)
            continue
        override = _parse(parser, where, f"{key}={_text(value)}")
        if override.is_sweep_override():
            dimensions[key] = _dimension(key, where, override.value())
        else:
            fixed.append(override.input_line)
    for override in given:
        if override.is_sweep_override():
            key = override.key_or_group
            dimensions[key] = _dimension(key, key, override.value())
        else:
            fixed.append(override.input_line)
    if not dimensions:
        raise ConfigError(
            PARAMS_KEY,
            "nothing to search: give keys to search, e.g. hydra.sweeper.params.optimizer.lr='tag(log, interval(1e-4, 1e-1))'",
        )
    return SearchSpace(dimensions, fixed, pinned)


def _flat(params: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """`optimizer.lr: ...` as an experiment file writes it, or {optimizer: {lr: ...}} as the command
    line's hydra.sweeper.params.optimizer.lr=... makes it: {"optimizer.lr": ...} either way."""
    out: Dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _text(value: Any) -> str:
    """A YAML value back as override text: `interval(0, 1)` stays text, a list becomes [a,b]."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_text(v) for v in value) + "]"
    return str(value)


def _parse(parser: OverridesParser, where: str, line: str):
    try:
        return parser.parse_overrides([line])[0]
    except HydraException as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError(where, f"cannot read '{line.split('=', 1)[1]}': {first}") from None


def _dimension(key: str, where: str, sweep: Any) -> Dimension:
    tags = set(getattr(sweep, "tags", set()) or set())
    unknown = tags - {"log", "int"}
    if unknown:
        raise ConfigError(where, f"unknown tag {', '.join(sorted(unknown))}: tags are log and int")
    if isinstance(sweep, IntervalSweep):
        return _interval(key, where, sweep, tags)
    if isinstance(sweep, RangeSweep):
        return _range(key, where, sweep, tags)
    if isinstance(sweep, ChoiceSweep):
        return _choice(key, where, sweep, tags)
    raise ConfigError(where, f"not a search space: {sweep!r}; use interval(...), range(...) or choice(...)")


def _interval(key: str, where: str, sweep: IntervalSweep, tags) -> Dimension:
    low, high, log = sweep.start, sweep.end, "log" in tags
    if low is None or high is None:
        raise ConfigError(where, "interval(low, high) needs both bounds")
    shown = f"interval({_num(low)}, {_num(high)})"
    if low == high:
        raise ConfigError(where, f"empty {shown}: the low bound must be below the high one")
    if low > high:
        raise ConfigError(where, f"inverted {shown}: write the low bound first, interval({_num(high)}, {_num(low)})")
    if log and low <= 0:
        raise ConfigError(where, f"tag(log, {shown}) needs a positive low bound (a log scale cannot reach {_num(low)})")
    if "int" in tags:
        if low != int(low) or high != int(high):
            raise ConfigError(where, f"tag(int, {shown}) needs whole-number bounds")
        return Dimension(key, where, "int", int(low), int(high), log=log)
    return Dimension(key, where, "float", float(low), float(high), log=log)


def _range(key: str, where: str, sweep: RangeSweep, tags) -> Dimension:
    start, stop, step = sweep.start, sweep.stop, sweep.step
    shown = f"range({_num(start)}, {_num(stop)}, {_num(step)})"
    if not step or (stop - start) / step <= 0:
        raise ConfigError(where, f"empty {shown}: it holds no value")
    count = int(-(-(stop - start) // step))  # ceil: the points below stop
    values = sorted(start + i * step for i in range(count))
    low, high, step = values[0], values[-1], abs(step)
    if len(values) == 1:
        return Dimension(key, where, "choice", choices=values)
    log = "log" in tags
    if log and (low <= 0 or step != 1):
        raise ConfigError(where, f"tag(log, {shown}) needs positive values and step 1")
    kind = "int" if all(isinstance(v, int) for v in (start, stop, step)) else "float"
    return Dimension(key, where, kind, low, high, step=None if log else step, log=log)


def _choice(key: str, where: str, sweep: ChoiceSweep, tags) -> Dimension:
    if tags:
        raise ConfigError(where, f"tag({', '.join(sorted(tags))}) applies to interval(...) and range(...), not choice")
    values = list(sweep.list)
    if not values:
        raise ConfigError(where, "choice() holds no value")
    for value in values:
        if not isinstance(value, PLAIN):
            raise ConfigError(
                where,
                f"choice value {value!r} is not a plain value (a number, a string, true/false or null); "
                "quote a list as text, or search its entries one key at a time",
            )
    if len(set(map(repr, values))) != len(values):
        raise ConfigError(where, f"choice({', '.join(map(repr, values))}) names a value twice")
    return Dimension(key, where, "choice", choices=values)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def value_text(value: Any) -> str:
    """A sampled parameter as override text Hydra reads back as the same value (a trial's job
    overrides, the best trial's command, the preflight's composing of each choice)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and not value.replace("_", "").replace("-", "").replace(".", "").isalnum():
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)
