"""A bounded map that forgets the least recently used entry: the app's read caches."""

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """At most `capacity` entries; a read or a write makes an entry the most recent.

    Requests on other threads may evict an entry between two calls, so no call assumes an
    entry it saw is still there.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __getitem__(self, key: K) -> V:
        """The entry, now the most recent; KeyError if it is not (or no longer) here."""
        self._entries.move_to_end(key)
        return self._entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        try:
            return self[key]
        except KeyError:
            return None

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)  # then in again, at the recent end
        self._entries[key] = value
        while len(self._entries) > self.capacity:
            try:
                self._entries.popitem(last=False)
            except KeyError:  # another thread emptied it meanwhile
                break

    def pop(self, key: K) -> None:
        """Forget the entry, if it is here."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
