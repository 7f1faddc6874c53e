"""Logger, Tracer and Metrics singletons shared by every handler.

No AWS client is created here: Powertools reads its own environment variables
(``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``, ``LOG_LEVEL``). The X-Ray recorder
is imported on first use, not at import time: importing ``aws_xray_sdk.core`` builds an X-Ray client
from the environment, which fails (``ProfileNotFound``) when ``AWS_PROFILE`` names a missing profile
and would crash every command that merely imports the project. Outside Lambda, Powertools disables
tracing, so the recorder is never imported there at all.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "kms-keyguard"
NAMESPACE = "KmsKeyguard"


class LazyXRayProvider:
    """Powertools' default provider (``aws_xray_sdk.core.xray_recorder``), imported on first use."""

    def __init__(self) -> None:
        self._recorder: Any = None

    def _load(self) -> Any:
        if self._recorder is None:
            from aws_xray_sdk.core import patch, patch_all, xray_recorder

            # What Powertools does for its own X-Ray provider: send subsegments one by one.
            xray_recorder.configure(streaming_threshold=0)
            xray_recorder.patch = patch
            xray_recorder.patch_all = patch_all
            self._recorder = xray_recorder
        return self._recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, provider=LazyXRayProvider())  # type: ignore[arg-type]
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
