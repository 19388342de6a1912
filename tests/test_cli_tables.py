"""The table, policies and drivers commands through typer's runner."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from optcompare.cli import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_policies_lists_the_builtins_in_order() -> None:
    code, out, _ = invoke("policies", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["kind"] == "policies"
    assert [p["name"] for p in data["policies"]] == [
        "qemu-3.0", "qemu-3.1", "qemu-4.0", "qemu-4.0.0", "option-1", "option-2", "option-3",
        "explicit-reopen", "qemu-4.1",
    ]
    assert all(p["source"] for p in data["policies"])


def test_drivers_shows_classes_of_a_build() -> None:
    code, out, _ = invoke("drivers", "--policy", "qemu-4.0", "--format", "json")
    assert code == 0
    classes = {d["name"]: d["class"] for d in json.loads(out)["drivers"]}
    assert classes["file"] == "dynamic"
    assert classes["host_cdrom"] == "sticky"
    assert classes["nbd"] == "fallback"
    assert classes["qcow2"] == "hard"
    code, out, _ = invoke("drivers", "--policy", "qemu-4.0", "--platform", "windows", "-f", "json")
    windows = {d["name"]: d["class"] for d in json.loads(out)["drivers"]}
    assert windows["file"] == "hard"
    assert "host_cdrom" not in windows


def test_diff_option_3_against_4_0_shows_only_dynamic_read_only_rows() -> None:
    code, out, _ = invoke(
        "table", "option-3", "--driver", "file", "--diff", "qemu-4.0", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    rows = data["tables"][0]["rows"]
    assert len(rows) == 18  # 27 combinations, 9 without dynamic-read-only
    assert all(row["options"]["dynamic-read-only"] is not None for row in rows)
    assert all(row["against"]["error"] == "Parameter 'dynamic-read-only' is unexpected"
               for row in rows)


def test_identical_tables_are_grouped_automatically() -> None:
    _code, out, _ = invoke("table", "qemu-3.1", "--format", "json")
    groups = [t["drivers"] for t in json.loads(out)["tables"]]
    assert ["file", "host_device", "host_cdrom"] in groups
    # every driver appears exactly once
    flat = [d for g in groups for d in g]
    assert len(flat) == len(set(flat))
    # Hard drivers group by their refusal: qcow2 and raw share "Block node is
    # read-only"; ssh, nfs and null-co each have their own (or none).
    assert ["qcow2", "raw"] in groups
    assert ["ssh"] in groups and ["null-co", "nvme"] not in groups


def test_json_rows_carry_the_contract_keys() -> None:
    _code, out, _ = invoke("table", "qemu-4.0", "-d", "file", "-f", "json")
    row = json.loads(out)["tables"][0]["rows"][0]
    assert {"options", "effective", "mode", "error", "writable", "unwritable"} <= set(row)
    assert row["options"] == {"read-only": True, "auto-read-only": True}


def test_drive_frontend_table() -> None:
    _code, out, _ = invoke("table", "qemu-4.0", "-d", "file", "--frontend", "drive", "-f", "json")
    rows = json.loads(out)["tables"][0]["rows"]
    none = next(r for r in rows if all(v is None for v in r["options"].values()))
    assert none["mode"] == "dynamic-ro"
    assert none["effective"] == {"read-only": False, "auto-read-only": True}


def test_markdown_table_fits_a_mail() -> None:
    code, out, _ = invoke("table", "option-3", "-f", "markdown")
    assert code == 0
    fenced = False
    for line in out.splitlines():
        if line == "```":
            fenced = not fenced
            continue
        assert fenced or len(line) <= 76, line
        assert line == line.rstrip()
        assert line.isascii()


def test_unknown_policy_is_one_line_and_exit_2() -> None:
    code, out, err = invoke("table", "qemu-9.9")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "unknown policy 'qemu-9.9'" in err and "qemu-4.1" in err


def test_unknown_driver_names_the_known_ones() -> None:
    code, _, err = invoke("table", "qemu-4.1", "--driver", "floppy")
    assert code == 2
    assert "unknown driver 'floppy'" in err and "host_cdrom" in err
    assert "Traceback" not in err


def test_bad_flag_is_a_usage_error() -> None:
    code, _, err = invoke("table", "--frontend", "scsi")
    assert code == 2
    assert "unknown frontend" in err
    code, _, err = invoke("table", "--no-such-flag")
    assert code == 2


def test_output_file_is_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "t.md"
    code, out, _ = invoke("table", "qemu-3.0", "-f", "markdown", "-o", str(target))
    assert code == 0 and out == ""
    assert target.read_text().startswith("# Flag truth tables")
    assert list(tmp_path.iterdir()) == [target]


def test_output_is_deterministic() -> None:
    first = invoke("table", "-f", "json")[1]
    assert first == invoke("table", "-f", "json")[1]


def test_real_subprocess_run() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "optcompare", "table", "qemu-4.1", "-d", "file", "-f", "markdown"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dynamic-ro" in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "optcompare", "drivers", "--policy", "nope"],
        capture_output=True, text=True, check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("optcompare: error: unknown policy 'nope'")
    assert "Traceback" not in bad.stderr


def test_table_rows_equal_one_evaluation_per_combination() -> None:
    from optcompare.analysis.truth_table import driver_rows, evaluate
    from optcompare.model.drivers import Platform
    from optcompare.policies import option_3, registry
    from optcompare.policies.base import Frontend

    for policy in [*registry.BUILTIN, option_3.make(shared_struct=True)]:
        for platform in Platform:
            build = policy.build(platform)
            for driver in build.drivers:
                for frontend in Frontend:
                    rows = driver_rows(build, driver, frontend)
                    assert [r.cell for r in rows] == [
                        evaluate(build, driver, r.written, frontend) for r in rows
                    ], (policy.name, driver, frontend)


def test_usage_errors_are_one_line_from_the_console_script() -> None:
    for args in (["table", "--format", "xml"], ["nosuchcmd"], ["compat"]):
        proc = subprocess.run([sys.executable, "-m", "optcompare", *args],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 2, args
        assert proc.stdout == ""
        assert proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("optcompare: error: ")
        assert "--help')" in proc.stderr


def test_the_console_script_builds_only_the_named_command() -> None:
    import typer

    from optcompare import cli

    assert cli._named_command(["--no-plugins", "report", "-f", "json"]) == "report"
    assert cli._named_command(["table", "qemu-3.1"]) == "table"
    assert cli._named_command(["--help", "report"]) is None
    assert cli._named_command(["nosuchcmd"]) is None
    assert cli._named_command([]) is None
    full = typer.main.get_command(cli.build_app())
    assert list(full.commands) == list(cli.COMMANDS)  # type: ignore[attr-defined]
    for name in cli.COMMANDS:
        alone = typer.main.get_command(cli.build_app([name]))
        assert list(alone.commands) == [name]  # type: ignore[attr-defined]
        assert runner.invoke(cli.build_app([name]), [name, "--help"]).stdout == \
            runner.invoke(cli.app, [name, "--help"]).stdout


def test_a_width_too_small_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for width in ("-3", "0", "19"):
        result = runner.invoke(app, ["table", "qemu-3.1", "-d", "file", "--width", width])
        assert result.exit_code == 2
        assert "'--width'" in result.stderr and ">=20" in result.stderr
    for columns in ("abc", "-5", "5", ""):  # an unusable $COLUMNS is ignored, not fatal
        monkeypatch.setenv("COLUMNS", columns)
        code, out, _ = invoke("table", "qemu-3.1", "-d", "file")
        assert code == 0
        assert max(len(line) for line in out.splitlines()) <= 100


def test_drivers_sources_names_where_each_fact_comes_from() -> None:
    code, out, _ = invoke("drivers", "--policy", "qemu-3.0", "--sources", "-f", "json")
    assert code == 0
    data = json.loads(out)
    bochs = next(d for d in data["drivers"] if d["name"] == "bochs")
    assert (bochs["class"], bochs["class_source"]) == ("self-read-only", "bochs.c:114-119 @v3.0.0")
    nbd = next(d for d in data["drivers"] if d["name"] == "nbd")
    assert nbd["refusal"] == "request for write access conflicts with read-only export"
    assert nbd["refusal_source"] == "nbd-client.c:995 @v3.0.0"
    assert all(d["class_source"] and d["refusal_source"] for d in data["drivers"])
    assert all(m["source"] for m in data["messages"])
    rules = {r["client"] for r in data["client_rules"]}
    assert rules == {"qemu-3.0", "libvirt"}
    assert any("qemu_capabilities.c:1518" in r["source"] for r in data["client_rules"])
    code, text, _ = invoke("drivers", "--policy", "qemu-4.1", "--sources", "--width", "200")
    assert "Where each fact comes from" in text and "Client rules" in text
    assert "Messages (4.1)" in text
    code, plain, _ = invoke("drivers", "--policy", "qemu-4.1", "-f", "json")
    assert "messages" not in json.loads(plain)
