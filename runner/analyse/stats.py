"""The statistics behind `runner compare`: mean ± std over seeds, and Welch's
comparison of two groups' means (unequal variances, small samples).

Welch rather than Student: two variants trained with the same seeds need not
have the same spread (a less stable optimizer varies more from seed to seed).
"""

import math
import warnings
from dataclasses import dataclass
from typing import Sequence, Tuple

from scipy import stats as scipy_stats

NAN = float("nan")


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else NAN


def std(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1); undefined (nan) for fewer than 2 values."""
    n = len(values)
    if n < 2:
        return NAN
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Tuple[float, float]:
    """The t confidence interval of the mean, mean -/+ t_{(1+c)/2, n-1} * std / sqrt(n):
    where the group's true mean plausibly lies; (nan, nan) below 2 values."""
    n = len(values)
    if n < 2:
        return NAN, NAN
    half_width = scipy_stats.t.ppf(0.5 + confidence / 2, n - 1) * std(values) / math.sqrt(n)
    return mean(values) - half_width, mean(values) + half_width


@dataclass
class Welch:
    """mean(a) - mean(b), its confidence interval, and the two-sided p-value of Welch's t-test.
    Fields are nan when the test is undefined (fewer than 2 runs in a group, or no spread at all)."""

    diff: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p: float
    n_a: int
    n_b: int
    confidence: float = 0.95

    @property
    def defined(self) -> bool:
        return not math.isnan(self.p)

    @property
    def significant(self) -> bool:
        """p below 1 - confidence: the same verdict as "the confidence interval leaves out 0"."""
        return self.defined and self.p < 1 - self.confidence


def welch(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Welch:
    a, b = [float(v) for v in a], [float(v) for v in b]
    na, nb = len(a), len(b)
    diff = mean(a) - mean(b) if na and nb else NAN
    if na < 2 or nb < 2:
        return Welch(diff, NAN, NAN, NAN, NAN, NAN, na, nb, confidence)
    va, vb = std(a) ** 2 / na, std(b) ** 2 / nb  # squared standard errors of the two means
    se = math.sqrt(va + vb)
    if se == 0:  # every run of both groups scored the same: no spread to test against
        return Welch(diff, NAN, NAN, NAN, NAN, NAN, na, nb, confidence)
    # Welch–Satterthwaite degrees of freedom.
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half_width = scipy_stats.t.ppf(0.5 + confidence / 2, df) * se
    with warnings.catch_warnings():  # scipy warns when one group has (almost) no spread; the test is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    return Welch(diff, diff - half_width, diff + half_width, diff / se, df, p, na, nb, confidence)
