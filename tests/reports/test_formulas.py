"""The formulas on their own: rates, nearest-rank percentiles, hours."""

from __future__ import annotations

import pytest

from reports.formulas import hours, nearest_rank, percent, percentile, rate


def test_rate_is_a_fraction_and_none_when_nothing_was_due() -> None:
    assert rate(7, 10) == pytest.approx(0.7)
    assert rate(0, 4) == 0.0
    assert rate(0, 0) is None
    assert percent(rate(7, 10)) == "70.0%"
    assert percent(None) == "—"


@pytest.mark.parametrize(
    ("n", "p", "rank"),
    [
        (1, 50, 1),
        (2, 50, 1),
        (3, 50, 2),
        (4, 50, 2),
        (10, 50, 5),
        (10, 90, 9),
        (11, 90, 10),
        (100, 90, 90),
        (101, 90, 91),
    ],
)
def test_nearest_rank_is_the_ceiling_of_p_times_n(n: int, p: int, rank: int) -> None:
    assert nearest_rank(n, p) == rank


def test_percentile_picks_a_value_that_occurred() -> None:
    values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
    assert percentile(values, 50) == 5
    assert percentile(values, 90) == 9
    assert percentile([], 50) is None


def test_hours_from_office_minutes() -> None:
    assert hours(90) == 1.5
    assert hours(None) is None
