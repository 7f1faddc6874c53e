"""One botocore data loader for every session the tests create.

botocore gives each new session its own loader, which reads and parses the service models and the
endpoint rules again: about 40 ms for each client of a new session. The deployed function builds one
session per container, but the tests build one per responder, hundreds in all. Sharing the loader
(it only reads botocore's bundled JSON) makes a new session's clients as cheap as a warm one's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.loaders
import botocore.session
import pytest


class _SearchPaths(list[str]):
    """boto3 appends its own data path to the loader of every session it wraps: once is enough."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@contextmanager
def one_loader_for_every_session() -> Iterator[botocore.loaders.Loader]:
    loader = botocore.loaders.create_loader()
    loader._search_paths = _SearchPaths(loader.search_paths)  # type: ignore[attr-defined]

    def shared(*_: Any, **__: Any) -> botocore.loaders.Loader:
        return loader

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        yield loader
