"""The list of APIs moto lacks is written once (``keyguard_cli.demo.emulation.MOTO_LACKS``): the demo
answers from it, and the benchmark's emulator answers every entry of it."""

from __future__ import annotations

import botocore.session
from bench.emulator.server import Emulator

from keyguard_cli.demo.emulation import MOTO_LACKS


def test_the_benchmark_emulator_answers_every_api_moto_lacks() -> None:
    session = botocore.session.get_session()
    for service, operation in MOTO_LACKS:
        signing = session.get_service_model(service).signing_name
        assert (signing, operation) in Emulator.ANSWERS, f"{service}:{operation}"
