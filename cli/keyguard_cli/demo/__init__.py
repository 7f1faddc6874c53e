"""The local demo: a realistic AWS account inside moto, and the APIs moto lacks answered in place.

``python -m keyguard_cli.demo`` (``make demo``) sends a sample event through the real handler;
``keyguard replay --demo`` assesses a recorded event in the same account. ``world`` builds the
account, ``emulation`` holds the one list of APIs moto lacks (the benchmark answers from it too),
``run`` ties them to the handler and the responder. None of it is part of the deployed functions.
"""
