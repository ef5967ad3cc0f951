"""A bounded memory of recently delivered events, so the gateway does not write a retry twice.

This is an optimisation, not the guarantee: the worker de-duplicates by ``event_id`` per
customer whatever reaches ``cx.events``. The memory is per gateway process and lost on
restart; a retry that reaches another gateway, or arrives after its entry was evicted,
is written again and dropped downstream.
"""

from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["RecentIds"]

Identity = tuple[str, str]  # (customer_id, event_id): the engine's de-duplication key


class RecentIds:
    """The last ``capacity`` identities added (least recently seen evicted first)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[Identity, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, identity: Identity) -> bool:
        if identity in self._ids:
            self._ids.move_to_end(identity)
            return True
        return False

    def add(self, identities: Iterable[Identity]) -> None:
        """Remember ``identities`` as delivered."""
        if self.capacity <= 0:
            return
        for identity in identities:
            self._ids[identity] = None
            self._ids.move_to_end(identity)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
