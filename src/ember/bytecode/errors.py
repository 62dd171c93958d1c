"""The one exception every Ember stage uses to decline a code object.

A refusal is not a bug: it says "CPython keeps running this". `reason` is a short, stable,
greppable name (statistics group by it); `detail` is free text for humans.
"""

from __future__ import annotations


class Refused(Exception):
    """The code object cannot be compiled; `reason` names why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
