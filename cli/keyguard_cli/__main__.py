"""``python -m keyguard_cli``: the ``keyguard`` command."""

from keyguard_cli.main import main

raise SystemExit(main())
