"""The working-day calendar as the worker holds it: ``calendar.yaml`` is read again
when it changes, so a schedule published today is used by the running worker.

A changed file is checked first, as ``appeals rules check`` checks it; a broken one
is logged and the last good calendar stays in use (``appeals health`` reports the
broken file). Deadlines already computed keep their dates: they are in history.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sla import WorkCalendar, load_overrides
from sla.calendar import CalendarFileError

log = logging.getLogger(__name__)


class CalendarSource:
    """Holds the calendar of ``path`` (a missing file: no overrides), reloaded when the
    file's modification time or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp = self._stat()
        # At start a broken file is an error: there is no last good calendar to keep.
        self._calendar = WorkCalendar(load_overrides(path))
        self.problem: str | None = None  # why the file on disk is not the one in use

    def _stat(self) -> tuple[float, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime, st.st_size)

    def get(self) -> WorkCalendar:
        stamp = self._stat()
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._calendar = WorkCalendar(load_overrides(self.path))
                except CalendarFileError as e:
                    self.problem = str(e)
                    log.error("calendar %s is invalid, keeping the last good one: %s", self.path, e)
                else:
                    self.problem = None
                    log.info("calendar %s reloaded", self.path)
            return self._calendar
