"""Statistics for timing samples: order statistics, MAD outliers, bootstrap confidence intervals."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

import msgspec

BOOTSTRAP_ROUNDS = 2000
MAD_SCALE = 1.4826  # makes the MAD estimate the standard deviation for normal data
OUTLIER_MADS = 3.0


class Summary(msgspec.Struct, frozen=True):
    n: int
    min: float
    median: float
    mean: float
    p95: float
    max: float
    stdev: float
    outliers: int


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def outliers(values: Sequence[float]) -> int:
    """How many values lie more than 3 scaled MADs from the median."""
    if len(values) < 3:
        return 0
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values) * MAD_SCALE
    if mad == 0:
        return sum(v != median for v in values)
    return sum(abs(v - median) > OUTLIER_MADS * mad for v in values)


def summarize(values: Sequence[float]) -> Summary:
    return Summary(
        n=len(values),
        min=min(values),
        median=statistics.median(values),
        mean=statistics.fmean(values),
        p95=percentile(values, 0.95),
        max=max(values),
        stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
        outliers=outliers(values),
    )


class Ratio(msgspec.Struct, frozen=True):
    ratio: float  # median(variant) / median(baseline)
    low: float  # 95% bootstrap confidence interval
    high: float

    @property
    def significant(self) -> bool:
        return self.high < 1.0 or self.low > 1.0


def ratio_of_medians(
    variant: Sequence[float],
    baseline: Sequence[float],
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 1,
) -> Ratio:
    """The ratio of medians with a percentile-bootstrap 95% CI (fixed seed: reproducible)."""
    rng = random.Random(seed)  # noqa: S311 - resampling for statistics, not cryptography
    base_median = statistics.median(baseline)
    if base_median == 0:
        raise ValueError("baseline median is 0")
    ratios = []
    for _ in range(rounds):
        a = statistics.median(rng.choices(variant, k=len(variant)))
        b = statistics.median(rng.choices(baseline, k=len(baseline)))
        ratios.append(a / b if b else math.inf)
    return Ratio(
        statistics.median(variant) / base_median,
        percentile(ratios, 0.025),
        percentile(ratios, 0.975),
    )


def bootstrap_interval(
    values: Sequence[float], q: float, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 1
) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the q-th percentile (for noise-aware budgets)."""
    rng = random.Random(seed)  # noqa: S311 - resampling for statistics, not cryptography
    estimates = [percentile(rng.choices(values, k=len(values)), q) for _ in range(rounds)]
    return percentile(estimates, 0.025), percentile(estimates, 0.975)
