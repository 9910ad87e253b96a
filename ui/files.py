"""Files a page writes for a moment: in a folder only this user can read, gone when done."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def private_path(name: str, content: bytes | None = None) -> Iterator[Path]:
    """A path named `name` in a new 0700 folder (holding `content` if given), removed after."""
    with tempfile.TemporaryDirectory(prefix="quorum-") as folder:
        path = Path(folder) / Path(name).name  # the name a browser sent is never a path
        if content is not None:
            path.write_bytes(content)
        yield path
