"""kms-keyguard outside Lambda: the local demo, and the ``keyguard`` command line."""
