"""An allowance per key (an address, a network), as the generic cell rate algorithm keeps it:
one float per key, so a check is a dictionary lookup and two additions.

`count` per `period` seconds, all of it at once after a quiet period: a key is refused while
its theoretical arrival time (when its spent allowance would be paid back) lies more than
`period` ahead. A key whose time has passed holds nothing and is forgotten when the table
grows, so memory stays bounded however many addresses pass by.
"""

from __future__ import annotations

from collections.abc import Hashable

MAX_KEYS = 100_000


class Allowance:
    __slots__ = ("_due", "count", "interval", "max_keys", "period")

    def __init__(self, count: int, period: float, max_keys: int = MAX_KEYS) -> None:
        self.count = count
        self.period = period
        self.interval = period / count
        self.max_keys = max_keys
        self._due: dict[Hashable, float] = {}

    def take(self, key: Hashable, now: float) -> float | None:
        """Spend one for `key`: None when allowed, else the seconds until one is free again."""
        due = self._due.get(key, now)
        if due < now:
            due = now
        due += self.interval
        if due - now > self.period:
            return due - now - self.period
        self._due[key] = due
        if len(self._due) > self.max_keys:
            self._forget(now)
        return None

    def wait(self, key: Hashable, now: float) -> float | None:
        """Like `take` without spending: None when one more would be allowed."""
        due = max(self._due.get(key, now), now) + self.interval
        return due - now - self.period if due - now > self.period else None

    def __len__(self) -> int:
        return len(self._due)

    def _forget(self, now: float) -> None:
        """Drop the keys that hold nothing; if most still hold something (many addresses at
        once), drop the oldest half too: each of those starts afresh, which is the price of a
        bounded table."""
        self._due = {key: due for key, due in self._due.items() if due > now}
        if len(self._due) > self.max_keys * 3 // 4:
            keep = list(self._due.items())[len(self._due) - self.max_keys // 2:]
            self._due = dict(keep)
