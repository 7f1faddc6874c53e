"""``make demo``: the real responder, end to end, against an embedded moto AWS.

It builds a realistic account (a production key with aliases, tags and dependent resources), sends
a sample event from ``events/`` through the real ``lambda_handler``, reads the published alert back
from the SQS queue subscribed to the alert topic, and prints it as an on-call engineer sees it.
With ``--organization`` the hub is the management account of an organization of two members, and
the event comes from one of them (``keyguard_cli.demo.organization``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from keyguard_cli.demo.organization import ORGANIZATION_EVENT
from keyguard_cli.demo.run import available_events, run_demo, run_organization_demo
from shared.document import AlertDocument

DEFAULT_EVENT = "schedule_key_deletion"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--event",
        choices=available_events(),
        help=f"sample event from events/ (default: {DEFAULT_EVENT})",
    )
    parser.add_argument(
        "--mode", default="off", choices=["off", "dry-run", "enforce"], help="remediation mode (default: off)"
    )
    parser.add_argument(
        "--organization",
        action="store_true",
        help="a hub and two member accounts: one member's key, used by the other, scheduled for deletion",
    )
    parser.add_argument("--json-only", action="store_true", help="print only the JSON alert document")
    args = parser.parse_args(argv)

    if args.organization:
        if args.event not in (None, ORGANIZATION_EVENT):
            parser.error(f"--organization sends the {ORGANIZATION_EVENT} sample only: drop --event")
        _, envelopes = run_organization_demo(args.mode)
    else:
        from keyguard_cli.demo.world import EVENTS_DIR
        from keyguard_cli.replay import not_routed

        event = args.event or DEFAULT_EVENT
        reason = not_routed(json.loads((EVENTS_DIR / f"{event}.json").read_text(encoding="utf-8")))
        if reason:
            print(f"no alert, by design: {reason}", file=sys.stderr)
            return 0
        envelopes = run_demo(event, args.mode)
    if not envelopes:
        # The responder decided not to publish (e.g. a key policy change on a usable key).
        print("no alert, by design: the responder assessed the event and did not publish", file=sys.stderr)
        return 0
    from shared.alerting import render_text  # after the demo environment is in place

    for envelope in envelopes:
        document = json.loads(envelope["Message"])
        if not args.json_only:
            print(f"=== Subject: {envelope.get('Subject')}")
            attributes = {k: v.get("Value") for k, v in envelope.get("MessageAttributes", {}).items()}
            print(f"=== Message attributes: {json.dumps(attributes, sort_keys=True)}")
            print("=== Email / plain text (rendered from the document read back from SQS)")
            print(render_text(AlertDocument.model_validate(document)))
            print("=== JSON document (the SQS subscriber's message)")
        print(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
