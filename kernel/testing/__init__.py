"""keel's testing kit: fixtures and helpers for tests of the kernel and of plugins.

Fixtures that start real servers live in ``kernel.testing.servers``; a
``conftest.py`` imports the ones it wants.
"""

__all__: list[str] = []
