"""The DependencyDiscovery statement tool: it rewrites that Action list and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import iam_sync
from tests.support.cfn_yaml import TEMPLATE_PATH, loads

SAMPLE = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Sid: Before
                Effect: Allow
                Action:
                  - s3:ListAllMyBuckets
                Resource: "*"
              - Sid: DependencyDiscovery
                Effect: Allow
                # generated
                Action:
                  - ec2:DescribeVolumes
                  - s3:ListAllMyBuckets
                # Resource "*": reason
                Resource: "*"
              - Sid: After
                Effect: Allow
                Action:
                  - sns:Publish
                Resource: !Ref Topic
"""


def test_template_is_in_step_with_the_registry() -> None:
    assert iam_sync.main(["--check"]) == 0, "run `python -m tests.support.iam_sync`"


def test_render_replaces_only_the_dependency_discovery_actions() -> None:
    # When the registry needs a different set of actions
    updated = iam_sync.render(
        SAMPLE, {"rds:DescribeDBInstances", "ec2:DescribeVolumes", "aoss:ListCollections"}
    )

    # Then that statement lists them sorted, and every other line is unchanged
    assert iam_sync.current_actions(updated) == [
        "aoss:ListCollections",
        "ec2:DescribeVolumes",
        "rds:DescribeDBInstances",
    ]
    expected = SAMPLE.replace(
        "                  - ec2:DescribeVolumes\n                  - s3:ListAllMyBuckets\n",
        "                  - aoss:ListCollections\n"
        "                  - ec2:DescribeVolumes\n"
        "                  - rds:DescribeDBInstances\n",
    )
    assert expected != SAMPLE
    assert updated == expected
    statements = loads(updated)["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    assert [s["Action"] for s in statements] == [
        ["s3:ListAllMyBuckets"],
        ["aoss:ListCollections", "ec2:DescribeVolumes", "rds:DescribeDBInstances"],
        ["sns:Publish"],
    ]
    assert "# generated" in updated
    assert '# Resource "*": reason' in updated


def test_render_is_idempotent() -> None:
    once = iam_sync.render(SAMPLE, {"kms:ListGrants"})
    assert iam_sync.render(once, {"kms:ListGrants"}) == once


def test_check_reports_drift_without_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a copy of the template whose statement lacks an action the registry needs
    path = tmp_path / "template.yaml"
    path.write_text(SAMPLE, encoding="utf-8")
    monkeypatch.setattr(iam_sync, "registry_actions", lambda: {"ec2:DescribeVolumes", "kms:ListGrants"})

    # When checked
    status = iam_sync.main(["--check", "--template", str(path)])

    # Then it fails, names the difference and leaves the file alone
    output = capsys.readouterr().out
    assert status == 1
    assert "missing: kms:ListGrants" in output
    assert "not needed: s3:ListAllMyBuckets" in output
    assert path.read_text(encoding="utf-8") == SAMPLE

    # And a rewrite fixes it
    assert iam_sync.main(["--template", str(path)]) == 0
    assert iam_sync.main(["--check", "--template", str(path)]) == 0


def test_a_template_without_the_statement_is_an_error() -> None:
    with pytest.raises(iam_sync.StatementNotFound):
        iam_sync.render("Resources: {}\n", {"ec2:DescribeVolumes"})


def test_the_real_template_has_exactly_one_such_statement() -> None:
    assert TEMPLATE_PATH.read_text(encoding="utf-8").count("Sid: DependencyDiscovery") == 1


def test_an_action_the_role_grants_in_another_statement_is_left_out() -> None:
    # Given a role that already grants s3:ListAllMyBuckets (statement "Before") and sns:Publish
    assert iam_sync.granted_elsewhere(SAMPLE) == {"s3:ListAllMyBuckets", "sns:Publish"}

    # Then the generated statement does not repeat them, whatever the registry needs
    updated = iam_sync.render(
        SAMPLE, {"s3:ListAllMyBuckets", "ec2:DescribeVolumes"} - iam_sync.granted_elsewhere(SAMPLE)
    )
    assert iam_sync.current_actions(updated) == ["ec2:DescribeVolumes"]


def test_a_template_without_the_statement_grants_nothing_elsewhere() -> None:
    assert iam_sync.granted_elsewhere("Resources: {}\n") == set()
