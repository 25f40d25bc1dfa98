"""`lamina`'s command line: `--state-dir` where the README puts it (after the command) and before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina_local.cli import build_parser, main


@pytest.mark.parametrize(
    "command",
    [
        ["up", "--port", "3000"],
        ["status"],
        ["token"],
        ["invoke", "ApiFunction"],
        [
            "traces",
            "replay",
            "--project",
            "0190b8e4-0000-7000-8000-000000000000",
            "--since",
            "2026-11-28T10:00",
        ],
    ],
)
def test_state_dir_is_accepted_after_the_command_as_well_as_before(
    command: list[str], tmp_path: Path
) -> None:
    parser = build_parser()
    before, after = tmp_path / "before", tmp_path / "after"
    # WHEN --state-dir is given after the command (the README's `lamina up --port 3000 --state-dir .state`)
    assert parser.parse_args([*command, "--state-dir", str(after)]).state_dir == after
    # AND before it, as the companion commands have always taken it
    assert parser.parse_args(["--state-dir", str(before), *command]).state_dir == before
    # AND in both places: the one nearest the command's own options wins
    assert (
        parser.parse_args(["--state-dir", str(before), *command, "--state-dir", str(after)]).state_dir
        == after
    )
    # AND given nowhere, the default still applies
    assert parser.parse_args(command).state_dir == parser.parse_args(["status"]).state_dir


def test_a_command_reads_the_state_dir_given_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an empty folder named after the command WHEN `lamina status --state-dir <folder>` runs
    code = main(["status", "--state-dir", str(tmp_path)])
    # THEN it looked in that folder for a running stack
    assert code == 2
    assert f"no running stack found in {tmp_path}" in capsys.readouterr().err


def test_traces_replay_reads_times_as_utc_and_needs_a_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LAMINA_BUCKET", raising=False)
    monkeypatch.delenv("TRACING_QUEUE_URL", raising=False)
    project = "0190b8e4-0000-7000-8000-000000000000"
    # GIVEN times without an offset WHEN `lamina traces replay` parses them
    args = build_parser().parse_args(
        ["traces", "replay", "--project", project, "--since", "2026-11-28 10:00"]
    )
    # THEN they are UTC
    assert args.since.utcoffset().total_seconds() == 0 and args.until is None
    # AND with neither a deployed stack named nor `lamina up` running, it says so
    code = main(
        [
            "traces",
            "replay",
            "--project",
            project,
            "--since",
            "2026-11-28T10:00Z",
            "--state-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert f"no running stack found in {tmp_path}" in capsys.readouterr().err
