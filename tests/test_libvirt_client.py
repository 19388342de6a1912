"""libvirt as it shipped: one +file probe, one frontend for the whole binary."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from typer.testing import CliRunner

from optcompare.analysis import scenarios as scenario_analysis
from optcompare.analysis import shipped
from optcompare.cli import app
from optcompare.model.drivers import Platform
from optcompare.model.modes import Mode
from optcompare.policies import libvirt, qemu_4_1, registry
from optcompare.policies.base import Detection, Frontend, Policy
from optcompare.policies.qemu_4_1 import FeatureFlag
from optcompare.scenario import files, load
from optcompare.scenario.runner import Outcome, run
from optcompare.schema.builder import build_schema
from optcompare.schema.target import BuildTarget

runner = CliRunner()
FALLBACK_PROTOCOLS = ("gluster", "iscsi", "nbd", "rbd", "http", "https", "ftp", "ftps")


@dataclass(frozen=True)
class WithSavevmNodes(FeatureFlag):
    """4.1's drivers plus 4.2's savevm-monitor-nodes: what libvirt needs for -blockdev."""

    def command_features(self, command: str, platform: Platform) -> tuple[str, ...]:
        if command == "human-monitor-command":
            return ("savevm-monitor-nodes",)
        return ()


AS_4_2 = WithSavevmNodes(**{
    **{f.name: getattr(qemu_4_1.POLICY, f.name) for f in fields(qemu_4_1.POLICY)},
    "name": "qemu-4.1+savevm-monitor-nodes",
})


def detect(policy: Policy) -> Detection:
    build = policy.build()
    return libvirt.CLIENT.detect(BuildTarget(build), build.drivers)


def test_one_file_probe_is_taken_for_every_protocol_on_4_1() -> None:
    found = detect(registry.get("qemu-4.1"))
    assert found.evidence == "blockdev-add/arg-type/+file/$dynamic-auto-read-only"
    assert set(FALLBACK_PROTOCOLS) <= found.dynamic
    assert "qcow2" not in found.dynamic and "null-co" not in found.dynamic


def test_a_real_4_1_stays_on_drive_it_lacks_savevm_monitor_nodes() -> None:
    found = detect(registry.get("qemu-4.1"))
    assert found.blockdev is False
    assert found.missing == ("savevm-monitor-nodes",)
    assert libvirt.CLIENT.pick_frontend(found, "file") is Frontend.DRIVE


def test_the_gate_is_evaluated_device_id_from_4_0_savevm_nodes_from_4_2() -> None:
    assert detect(registry.get("qemu-3.1")).missing == (
        "+file dynamic-auto-read-only", "scsi-disk device_id", "savevm-monitor-nodes")
    assert "scsi-disk device_id" not in detect(registry.get("qemu-4.0")).missing
    found = detect(AS_4_2)
    assert found.blockdev is True and found.missing == ()
    assert libvirt.CLIENT.pick_frontend(found, "nbd") is Frontend.BLOCKDEV


def test_the_gate_s_feature_is_in_the_schema_only_where_the_release_has_it() -> None:
    def hmp(policy: Policy) -> dict[str, object]:
        entries = build_schema(policy.build())
        return next(e for e in entries if e["name"] == "human-monitor-command")

    assert "features" not in hmp(registry.get("qemu-4.1"))
    assert hmp(AS_4_2)["features"] == ["savevm-monitor-nodes"]


def test_every_storage_node_gets_auto_read_only_and_no_read_only() -> None:
    for backing in (False, True):
        for readonly in (False, True):
            assert libvirt.CLIENT.storage_options(backing, readonly) == {"auto-read-only": True}


def test_under_blockdev_it_commits_on_nbd_as_if_nbd_were_dynamic_and_fails() -> None:
    # nbd is fallback: the base, read-only at start, stays read-only.
    nbd = {s.name: s for s in load.load_all(files.builtin_files())}["nbd-chain-commit"]
    result = run(nbd, AS_4_2, client=libvirt.NAME)
    assert result.outcome is Outcome.FAILS
    assert result.reason == "Block node is read-only"


def test_shipped_conclusion_on_4_1_names_the_misread_drivers() -> None:
    found = shipped.conclude(registry.get("qemu-4.1").build())
    assert found.frontend is Frontend.DRIVE
    modes = {m.driver: m.mode for m in found.wrongly_dynamic}
    assert {d: modes[d] for d in FALLBACK_PROTOCOLS} == dict.fromkeys(
        FALLBACK_PROTOCOLS, Mode.FALLBACK_RO)
    assert modes["host_cdrom"] is Mode.STICKY_RO
    assert "file" not in modes and found.missed == ()


def test_visibility_for_4_1_lists_what_the_shipped_client_misreads() -> None:
    result = runner.invoke(app, ["visibility", "qemu-4.1", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    (posix, windows) = json.loads(result.stdout)["policies"][0]["shipped_client"]
    assert [m["driver"] for m in posix["wrongly_dynamic"] if m["mode"] == "fallback-ro"] == [
        "gluster", "iscsi", "nbd", "rbd", "http", "https", "ftp", "ftps", "vvfat"]
    assert posix["frontend"] == "drive" and windows["treated_dynamic"] == []
    text = runner.invoke(app, ["visibility", "qemu-4.1", "--width", "200"]).stdout
    assert "What the shipped libvirt concludes" in text
    assert "fallback-ro: gluster, iscsi, nbd, rbd, http, https, ftp, ftps, vvfat" in text


def test_the_skew_matrix_has_a_libvirt_row() -> None:
    scenarios = load.load_all(files.builtin_files())
    cells = scenario_analysis.skew(scenarios, [registry.get("qemu-3.1"), registry.get("qemu-4.1")])
    rows = {(c.client, c.build): c for c in cells}
    cell = rows["libvirt", "qemu-4.1"]
    assert cell.blockdev is False and cell.missing == ("savevm-monitor-nodes",)
    assert {"nbd", "gluster", "iscsi", "rbd", "http"} <= cell.false_positives
    assert rows["libvirt", "qemu-3.1"].detected == frozenset()


def test_scenarios_may_name_the_libvirt_client() -> None:
    text = ('[scenario]\nname = "t"\nsummary = "s"\nsource = "x"\n[setup]\nfrontend = "auto"\n'
            'client = "libvirt"\n[[setup.images]]\nname = "a"\n[[steps]]\ndo = "start"\n')
    result = run(load.parse(text, "t.toml"), registry.get("qemu-4.1"))
    assert result.outcome is Outcome.MEETS
    assert result.frontend == "drive"
    assert result.trace[0].actions[0].startswith(
        "probe: blockdev-add/arg-type/+file/$dynamic-auto-read-only -> dynamic")


def test_the_verdict_shows_the_shipped_client_on_4_1() -> None:
    result = runner.invoke(app, ["report", "-p", "qemu-3.1", "-p", "qemu-4.1", "-f", "json"])
    data = json.loads(result.stdout)
    matrix = {r["policy"]: {c["criterion"]: c for c in r["cells"]} for r in data["matrix"]}
    assert matrix["qemu-4.1"]["shipped-libvirt"]["mark"] == "no"
    assert "nbd" in matrix["qemu-4.1"]["shipped-libvirt"]["reason"]["wrongly_dynamic"]
    assert matrix["qemu-3.1"]["shipped-libvirt"]["mark"] == "n/a"
