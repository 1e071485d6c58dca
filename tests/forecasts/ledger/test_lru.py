from forecasts.ledger.lru import LRUCache


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the oldest
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache["c"] == 3 and len(cache) == 2
    cache.put("a", 10)  # a write makes it recent too
    cache.put("d", 4)
    assert "c" not in cache and cache.get("a") == 10


def test_an_entry_gone_meanwhile_is_a_miss_not_an_error() -> None:
    cache: LRUCache[int, str | None] = LRUCache(1)
    cache.put(1, None)  # None is a value that can be cached
    assert 1 in cache and cache[1] is None
    cache.put(2, "two")  # evicts 1, as another request may do between two calls
    assert cache.get(1) is None
    cache.put(1, "one")
    assert cache[1] == "one" and len(cache) == 1


def test_forgetting_an_entry_and_everything() -> None:
    """The fast lane forgets a revoked token at once (web/context.py), and all on a reset."""
    cache: LRUCache[str, int] = LRUCache(3)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.pop("a")
    cache.pop("never there")  # nothing to forget is no error
    assert "a" not in cache and cache.get("b") == 2 and len(cache) == 1
    cache.clear()
    assert len(cache) == 0 and cache.get("b") is None
