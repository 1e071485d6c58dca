"""The evidence servers of tests/claims, for the resolution API tests."""

from tests.claims.conftest import _servers, forbidden_server, server

__all__ = ["_servers", "forbidden_server", "server"]
