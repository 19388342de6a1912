"""block-stream's base-node, checked as qmp_block_stream checks it (blockdev.c:3192-3225
@v4.1.0): the device first, then base-node by node-name only, then base below the
device. The runner checks the chain before it asks the backend, so no workflow gets
here; these call the backends directly, and the last test asks QEMU 7.2 itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from qemu_required import require_qemu  # tests/ is on sys.path
from test_qemu_backend import no_leftovers  # noqa: F401 - a fixture

from optcompare.backends.model import ModelBackend
from optcompare.backends.qemu.backend import QemuBackend, released_policy
from optcompare.model.options import AUTO_READ_ONLY, READ_ONLY
from optcompare.policies import registry
from optcompare.policies.base import Build
from optcompare.scenario.backend import Backend, StepError

RELEASED = released_policy()

# (top, base, QEMU 7.2's text; None: the stream runs)
CASES = (
    ("top", "ghost", "Cannot find device='' nor node-name='ghost'"),
    ("ghost", "base", "Cannot find device='ghost' nor node-name='ghost'"),
    ("top", "top", "Node 'top' is not a backing image of 'top'"),
    ("base", "top", "Node 'top' is not a backing image of 'base'"),
    ("top", "other", "Node 'other' is not a backing image of 'top'"),
    ("top", "base", None),
)


def _open(backend: Backend) -> Backend:
    """base <- top, and ``other`` beside them, each added by node name."""
    backend.create([("base", True), ("top", True)])
    backend.create([("other", True)])
    for image, below in (("base", None), ("top", "base"), ("other", None)):
        backend.add_protocol(image, {AUTO_READ_ONLY: True, READ_ONLY: False})
        backend.add_format(image, False, below)
    return backend


def _said(backend: Backend, top: str, base: str) -> str | None:
    try:
        backend.stream(top, base)
    except StepError as error:
        return error.message
    return None


def _fresh_model() -> Backend:
    return _open(ModelBackend(RELEASED.build()))


@pytest.mark.parametrize(("top", "base", "wanted"), CASES)
def test_the_model_checks_the_base_node_as_qemu_does(top: str, base: str,
                                                     wanted: str | None) -> None:
    assert _said(_fresh_model(), top, base) == wanted


def test_the_base_node_lookup_is_in_the_release_s_words() -> None:
    backend = _open(ModelBackend(Build(registry.get("qemu-4.1"))))
    assert _said(backend, "top", "ghost") == "Cannot find device= nor node_name=ghost"


def test_a_refused_stream_changes_no_backing() -> None:
    backend = _open(ModelBackend(RELEASED.build()))
    assert isinstance(backend, ModelBackend)
    assert _said(backend, "top", "other") is not None
    assert backend.format["top"].backing == "base"
    assert _said(backend, "top", "base") is None


def test_qemu_checks_the_base_node_in_the_same_words(no_leftovers: Path) -> None:  # noqa: F811
    tools = require_qemu()
    from optcompare.backends.qemu.daemon import QemuDaemon

    for top, base, wanted in CASES:
        with QemuDaemon(tools) as daemon:  # one daemon a case: a stream that ran changes it
            said = _said(_open(QemuBackend(daemon, RELEASED.build())), top, base)
        assert said == wanted, (top, base)
        assert _said(_fresh_model(), top, base) == said
