"""Kept only for examples/heroes/tests/test_plugin_backends.py, which still imports it: the
suite's backends live in tests/support/backends.py. Delete this file once nothing imports it."""

from tests.support.backends import IN_CI, SERVER_URLS

__all__ = ["IN_CI", "SERVER_URLS"]
