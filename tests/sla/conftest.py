"""Shared fixtures for the calendar and deadline tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sla import WorkCalendar, clear_caches


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    # The fallback warning is logged once per year per process; clearing the caches
    # lets every test see it again, whatever ran before.
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def calendar() -> WorkCalendar:
    """The calendar without overrides: chinese_calendar, then the holidays fallback."""
    return WorkCalendar()
