"""``keyguard``: inspect a KMS key's blast radius, audit CIS 4.7 monitoring, replay KMS events.

    keyguard impact KEY [--account ID]        what depends on this key (exit 3 when something does)
    keyguard impact KEY --organization        where the key (alias) is in the organization, and
                                              what depends on it in each account and Region
    keyguard audit [--regions a,b | --all-regions]   CIS 4.7 posture per region (exit 1 on FAIL)
    keyguard audit --organization             the same in every account and Region, one summary
    keyguard replay FILE [--demo]             a recorded KMS call through the real responder

Credentials come from the standard AWS chain (``--profile`` / ``--region`` on top); botocore honours
``AWS_ENDPOINT_URL``. Errors are one line on stderr with a distinct exit code (see ``ExitCode``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from keyguard_cli.errors import CliError, ExitCode, from_aws_error

if TYPE_CHECKING:
    from keyguard_cli.session import AwsContext
    from shared.responder import Evaluation

T = TypeVar("T")
COMMANDS = ("impact", "audit", "replay")
DEFAULT_ROLE_NAME = "kms-keyguard-discovery"  # org/member-roles.yaml's read-only role


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", help="AWS named profile (default: the standard credential chain)")
    common.add_argument("--region", help="AWS region (default: AWS_REGION / the profile's region)")
    common.add_argument("--json", action="store_true", help="print JSON instead of a report")
    common.add_argument("--debug", action="store_true", help="show tracebacks and the project's logs")
    member = argparse.ArgumentParser(add_help=False)
    member.add_argument(
        "--account",
        metavar="ID",
        help="act in this account of the organization through its member role (assumed via STS)",
    )
    member.add_argument(
        "--role-name",
        default=DEFAULT_ROLE_NAME,
        help=f"the member role --account assumes (default {DEFAULT_ROLE_NAME})",
    )

    parser = argparse.ArgumentParser(
        prog="keyguard",
        description=__doc__.splitlines()[0],
        epilog="exit codes: 0 ok, 1 audit FAIL, 2 usage, 3 dependencies found, 4 incomplete, 5 key not "
        "found, 6 no credentials, 7 access denied, 8 bad input file, 9 not a KMS event, 10 AWS unavailable, "
        "11 member role cannot be assumed",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    impact = commands.add_parser(
        "impact",
        parents=[common, member],
        help="what depends on a KMS key",
        description="The key's state, every dependency, grant and usage evidence "
        "dependency discovery finds, and what could not be checked.",
    )
    impact.add_argument("key", metavar="KEY", help="key id, key ARN, alias name (alias/...) or alias ARN")
    impact.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="discovery time budget in seconds (default 120, at most 600)",
    )
    impact.add_argument("--workers", type=int, default=16, help="parallel AWS calls (default 16)")
    impact.add_argument(
        "--organization",
        action="store_true",
        help="find the key (alias name or key id) in every active account of the organization and "
        "every enabled region unless --regions, and search each; one summary table",
    )
    impact.add_argument(
        "--regions", help="--organization: comma-separated regions (default: each account's enabled)"
    )
    impact.add_argument(
        "--max-workers",
        type=int,
        default=8,
        help="--organization: accounts and regions read at once (default 8, at most 32)",
    )

    audit = commands.add_parser(
        "audit",
        parents=[common, member],
        help="CIS 4.7 monitoring posture per region",
        description="CIS AWS Foundations v3.0.0 recommendation 4.7 per account and "
        "region, this project's EventBridge rule, and keys pending deletion.",
    )
    where = audit.add_mutually_exclusive_group()
    where.add_argument("--regions", help="comma-separated regions (default: --region)")
    where.add_argument("--all-regions", action="store_true", help="every region enabled in the account")
    audit.add_argument(
        "--organization",
        action="store_true",
        help="every active account of the organization (from the management account or a delegated "
        "administrator), every enabled region unless --regions; one summary table",
    )
    audit.add_argument(
        "--max-workers",
        type=int,
        default=8,
        help="--organization: accounts and regions audited at once (default 8, at most 32)",
    )
    audit.add_argument(
        "--approval-max-days",
        type=int,
        default=None,
        help="the stack's ApprovalMaxDays, for reading approval tags as the responder does (default 30)",
    )

    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="replay a KMS event through the responder",
        description="A CloudTrail record, CloudTrail log file or EventBridge event, "
        "assessed by the real responder in dry-run: nothing is published or changed.",
    )
    replay.add_argument("file", metavar="FILE", help="JSON file")
    replay.add_argument(
        "--demo",
        action="store_true",
        help="replay inside the embedded demo account (moto) instead of the current AWS account",
    )
    replay.add_argument(
        "--publish", action="store_true", help="publish the alert (needs --topic-arn or ALERT_TOPIC_ARN)"
    )
    replay.add_argument("--topic-arn", help="alert topic for --publish")
    replay.add_argument("--enforce", action="store_true", help="remediation mode enforce (default dry-run)")
    return parser


def _quiet_project_logs(debug: bool) -> None:
    """The responder logs JSON to stdout for Lambda; on a terminal those lines go to stderr, or nowhere."""
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from shared.observability import logger

    logger.setLevel(logging.DEBUG if debug else logging.CRITICAL)
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(sys.stderr)


def _with_progress(err: Console, label: str, clients: Any, work: Callable[[], T]) -> T:
    """Run ``work`` under a spinner showing elapsed time and the AWS calls made so far."""
    if not err.is_terminal:
        return work()
    calls: dict[str, Any] = {"count": 0, "last": ""}
    started = time.monotonic()

    def on_call(name: str) -> None:
        calls["count"] += 1
        calls["last"] = name

    clients.on_call = on_call
    with err.status(label) as status:

        def refresh() -> str:
            return f"{label} · {time.monotonic() - started:.0f} s · {calls['count']} AWS calls" + (
                f" · {calls['last']}" if calls["last"] else ""
            )

        import threading

        done = threading.Event()

        def ticker() -> None:
            while not done.wait(0.25):
                status.update(refresh())

        thread = threading.Thread(target=ticker, daemon=True)
        thread.start()
        try:
            return work()
        finally:
            done.set()
            thread.join()
            clients.on_call = None


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def cmd_impact(args: argparse.Namespace, out: Console, err: Console) -> int:
    from keyguard_cli.impact import check_reference, run_impact
    from keyguard_cli.render import render_impact
    from keyguard_cli.session import aws_context

    check_reference(args.key)
    if not 0 < args.timeout <= 600:
        raise CliError(ExitCode.USAGE, "--timeout must be between 0 and 600 seconds")
    if not 1 <= args.workers <= 64:
        raise CliError(ExitCode.USAGE, "--workers must be between 1 and 64")
    if args.organization and args.account:
        raise CliError(ExitCode.USAGE, "--organization and --account cannot be combined")
    if args.regions and not args.organization:
        raise CliError(ExitCode.USAGE, "--regions needs --organization (otherwise use --region)")
    if not 1 <= args.max_workers <= 32:
        raise CliError(ExitCode.USAGE, "--max-workers must be between 1 and 32")
    ctx = aws_context(args.profile, args.region)
    if args.organization:
        return _impact_organization(args, out, err, ctx)
    if args.account:
        _check_key_account(args.key, args.account)
        ctx = ctx.assume(args.account, args.role_name, ctx.require_region(args.region))
    result = run_impact(
        ctx,
        args.key,
        region=args.region,
        timeout=args.timeout,
        workers=args.workers,
        wrap=lambda work: _with_progress(err, f"Searching what depends on {args.key}", ctx.clients, work),
    )
    if args.json:
        _print_json(result.document.model_dump(mode="json"))
    else:
        render_impact(out, result)
    return result.exit_code


def _impact_organization(args: argparse.Namespace, out: Console, err: Console, ctx: AwsContext) -> int:
    from keyguard_cli.org_impact import OrganizationImpactSearch
    from keyguard_cli.render import render_impact_organization

    search = OrganizationImpactSearch(
        ctx,
        args.key,
        region=ctx.require_region(args.region),
        role_name=args.role_name,
        regions=_region_list(args.regions) if args.regions else None,
        max_workers=args.max_workers,
        timeout=args.timeout,
        workers=args.workers,
    )
    report = _walk(err, f"Searching the organization for {args.key}", search, search.run)
    if args.json:
        _print_json(report.model_dump(mode="json"))
    else:
        render_impact_organization(out, report)
    return report.exit_code


def _walk(err: Console, label: str, walker: Any, run: Callable[[], T]) -> T:
    """``run()``, with a progress bar on stderr fed by ``walker.tick`` when stderr is a terminal."""
    from keyguard_cli.render import organization_progress

    if not err.is_terminal:
        return run()
    with organization_progress(err, label) as tick:
        walker.tick = tick
        return run()


def _check_key_account(reference: str, account: str) -> None:
    from shared.keyref import parse_key_reference

    ref = parse_key_reference(reference)
    if ref is not None and ref.account and ref.account != account:
        raise CliError(ExitCode.USAGE, f"{reference} is in account {ref.account}, not --account {account}")


def _region_list(text: str) -> list[str]:
    regions = [r.strip() for r in text.split(",") if r.strip()]
    if not regions:
        raise CliError(ExitCode.USAGE, "--regions needs at least one region")
    return regions


def cmd_audit(args: argparse.Namespace, out: Console, err: Console) -> int:
    from keyguard_cli.audit import Auditor
    from keyguard_cli.organization import enabled_regions, report_exit_code
    from keyguard_cli.render import render_audit
    from keyguard_cli.session import aws_context

    if args.organization and args.account:
        raise CliError(ExitCode.USAGE, "--organization and --account cannot be combined")
    if not 1 <= args.max_workers <= 32:
        raise CliError(ExitCode.USAGE, "--max-workers must be between 1 and 32")
    ctx = aws_context(args.profile, args.region)
    if args.organization:
        return _audit_organization(args, out, err, ctx)
    if args.account:
        ctx = ctx.assume(args.account, args.role_name, ctx.require_region(args.region))
    account = ctx.account()
    if args.all_regions:
        regions = enabled_regions(ctx, ctx.require_region(args.region))
    elif args.regions:
        regions = _region_list(args.regions)
    else:
        regions = [ctx.require_region(args.region)]
    if args.approval_max_days is not None and not 1 <= args.approval_max_days <= 90:
        raise CliError(ExitCode.USAGE, "--approval-max-days must be between 1 and 90")
    auditor = Auditor(ctx.clients, account, approval_max_days=args.approval_max_days)
    report = _with_progress(
        err, f"Auditing {len(regions)} region(s)", ctx.clients, lambda: auditor.run(regions)
    )
    if args.json:
        _print_json(report.model_dump(mode="json"))
    else:
        render_audit(out, report)
    return report_exit_code(report)


def _audit_organization(args: argparse.Namespace, out: Console, err: Console, ctx: AwsContext) -> int:
    from keyguard_cli.organization import OrganizationAudit
    from keyguard_cli.render import render_organization

    auditor = OrganizationAudit(
        ctx,
        region=ctx.require_region(args.region),
        role_name=args.role_name,
        regions=_region_list(args.regions) if args.regions else None,
        max_workers=args.max_workers,
    )
    report = _walk(err, "Auditing the organization", auditor, auditor.run)
    if args.json:
        _print_json(report.model_dump(mode="json"))
    else:
        render_organization(out, report)
    return report.exit_code


def cmd_replay(args: argparse.Namespace, out: Console, err: Console) -> int:
    from keyguard_cli.replay import not_routed, read_json, replay_settings, to_events

    if args.demo and args.publish:
        raise CliError(ExitCode.USAGE, "--publish cannot be combined with --demo")
    events = to_events(read_json(args.file), args.file)
    # An event the stack's rules never deliver makes no alert: said so, not assessed (exit 0).
    skipped = [(event, reason) for event in events if (reason := not_routed(event))]
    events = [event for event in events if not not_routed(event)]
    for _, reason in skipped:
        err.print(f"keyguard: no alert: {reason}", markup=False, highlight=False)
    evaluations: list[Evaluation] = []
    if events and args.demo:
        from keyguard_cli.demo.run import replay_in_world

        evaluations = replay_in_world(events, enforce=args.enforce)
    elif events:
        from keyguard_cli.session import aws_context
        from shared.errors import AlertDeliveryError
        from shared.responder import Responder

        settings = replay_settings(enforce=args.enforce, publish=args.publish, topic_arn=args.topic_arn)
        ctx = aws_context(args.profile, args.region)
        account = ctx.account()
        for event in events:
            if event.get("account") and event["account"] != account:
                err.print(
                    f"note: the event is from account {event['account']}; your credentials are for "
                    f"{account}, so the key may not be readable.",
                    style="yellow",
                    highlight=False,
                )
        responder = Responder(settings, ctx.clients)
        for event in events:
            evaluation = responder.evaluate(event)
            if args.publish and evaluation.publish:
                try:
                    message_id = responder.publisher.publish(evaluation.doc)
                except AlertDeliveryError as exc:
                    raise CliError(
                        ExitCode.AWS_UNAVAILABLE, f"the alert could not be published: {exc}"
                    ) from None
                err.print(
                    f"published alert {evaluation.doc.alert_id} as message {message_id}", highlight=False
                )
            evaluations.append(evaluation)
    for evaluation in evaluations:
        if not evaluation.publish:
            err.print(
                f"keyguard: no alert: the responder would not publish one for {evaluation.doc.event.name} "
                f"({evaluation.skip_reason})",
                markup=False,
                highlight=False,
            )
    documents = [evaluation.doc for evaluation in evaluations if evaluation.publish]
    if args.json:
        # Always an array, one alert document per event: the same shape for one record and a log file.
        _print_json([doc.model_dump(mode="json") for doc in documents])
    else:
        from shared.alerting import render_text

        for index, doc in enumerate(documents):
            if index:
                sys.stdout.write("\n" + "-" * 72 + "\n\n")
            sys.stdout.write(render_text(doc).rstrip("\n") + "\n")
    return ExitCode.OK


def _console(*, stderr: bool) -> Console:
    """A terminal gets wrapping at its width and colour; a pipe or file gets neither, so ids and ARNs
    stay on one line for grep and friends (rich turns colour off by itself when not on a terminal)."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(
        stderr=stderr, highlight=False, soft_wrap=not terminal, width=None if terminal else 100_000
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out, err = _console(stderr=False), _console(stderr=True)
    _quiet_project_logs(args.debug)
    handlers = {"impact": cmd_impact, "audit": cmd_audit, "replay": cmd_replay}
    try:
        return int(handlers[args.command](args, out, err))
    except CliError as exc:
        err.print(f"keyguard: {exc.message}", markup=False, highlight=False)
        return int(exc.code)
    except (ClientError, BotoCoreError) as exc:
        error = from_aws_error(exc, getattr(exc, "operation_name", None) or "an AWS call")
        err.print(f"keyguard: {error.message}", markup=False, highlight=False)
        return int(error.code)
    except KeyboardInterrupt:
        err.print("keyguard: interrupted", markup=False)
        return 130
    except Exception as exc:  # last resort: one line, never a traceback unless asked for
        if args.debug:
            raise
        err.print(
            f"keyguard: internal error ({type(exc).__name__}: {exc}); rerun with --debug for details",
            markup=False,
            highlight=False,
        )
        return int(ExitCode.INTERNAL_ERROR)


if __name__ == "__main__":
    raise SystemExit(main())
