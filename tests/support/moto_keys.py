"""moto's symmetric keys without a fresh RSA key pair each.

moto 5.2.5 generates an RSA-2048 private key for every key it creates, whatever its spec (about
40 ms each, and the tests create hundreds of keys). It uses that key only for Sign, Verify and
GetPublicKey, which AWS refuses on symmetric and HMAC keys. Those keys therefore share one
pre-generated key pair here; asymmetric keys still get their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import moto.kms.models
import pytest

SHARED_SPECS = ("SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512")


@contextmanager
def one_key_pair_for_symmetric_keys() -> Iterator[None]:
    original: Callable[[str], Any] = moto.kms.models.generate_private_key
    shared: dict[str, Any] = {}

    def generate(key_spec: str) -> Any:
        if key_spec not in SHARED_SPECS:
            return original(key_spec)
        if "pair" not in shared:
            shared["pair"] = original(key_spec)
        return shared["pair"]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(moto.kms.models, "generate_private_key", generate)
        yield
