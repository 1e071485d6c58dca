"""The evidence servers of tests/claims, for the resolution flow's tests."""

from tests.claims.conftest import _servers, forbidden_server, server

__all__ = ["_servers", "forbidden_server", "server"]
