"""Chinese names for the groups of a report, from the routing directory."""

from __future__ import annotations

from collections.abc import Callable

from reports.figures import Dimension
from routing_rules import Directory

NO_PLATFORM = "无平台"


def directory_labels(directory: Directory) -> Callable[[Dimension, str], str]:
    """A ``labels`` function for ``reports.figures.figures`` (offices carry their own)."""

    def label(by: Dimension, key: str) -> str:
        if by is Dimension.department:
            return directory.department_name(key)
        if by is Dimension.region:
            return directory.region_name(key)
        if by is Dimension.category:
            category = directory.categories.get(key)
            return category.label if category else key
        if by is Dimension.platform:
            if not key:
                return NO_PLATFORM
            platform = directory.platforms.get(key)
            return platform.name if platform else key
        return key

    return label
