"""Offline/online parity tooling (see issue 5); the pytest plugin lives in ``_plugin``."""
