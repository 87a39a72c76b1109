"""The identity of a plugin's code: a SHA-256 over its package's Python sources."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

__all__ = ["code_hash"]


def code_hash(cls: type) -> str:
    """SHA-256 (hex) of every ``.py`` file in the package that defines ``cls``.

    Files are taken in sorted relative-path order, each as its path and bytes,
    so the hash changes with any edit of the package and only then. A class
    defined outside a file (an interactive session) hashes its qualified name.
    """
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    digest = hashlib.sha256()
    if not file:
        digest.update(f"{cls.__module__}.{cls.__qualname__}".encode())
        return digest.hexdigest()
    path = Path(file).resolve()
    root = path.parent if (path.parent / "__init__.py").exists() else path
    files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
    for f in files:
        rel = f.relative_to(root).as_posix() if root.is_dir() else f.name
        digest.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()
