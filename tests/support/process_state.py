"""Put back what the command line and the demo change in the process that runs them.

Both were written for a process of their own: they set environment variables, and send the
project's logger to stderr at another level. Run in the test process, they must leave no trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def restored_process_state() -> Iterator[None]:
    """The environment, the settings cache and the project's logger as they were before the block."""
    from shared.config import get_settings
    from shared.observability import logger

    environment = dict(os.environ)
    level = logger.log_level
    handler = logger.registered_handler
    stream = getattr(handler, "stream", None)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environment)
        get_settings.cache_clear()
        logger.setLevel(level)
        if stream is not None:
            handler.setStream(stream)  # type: ignore[attr-defined]
