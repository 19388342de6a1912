"""The real ``query-qmp-schema`` replies shipped with the package.

Each reply is a named test vector (``qemu-4.0.0``, ...) that ``probe
--schema`` accepts in place of a file. Where each came from is recorded
here and in ``replies/README.md`` beside the files; what they contain
(entry counts, whether the 4.1 feature flag is there) is computed from the
files, never written down.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from optcompare.frozen import frozen

LIBVIRT_DATA = "tests/qemucapabilitiesdata"
"""Where in libvirt's tree the recorded conversations live."""


@frozen
class Reply:
    """One real reply: its version, the QEMU that gave it, the libvirt file it was cut out of."""

    version: str
    qemu: str
    source: str

    @property
    def name(self) -> str:
        return f"qemu-{self.version}"

    @property
    def filename(self) -> str:
        return f"qmp-schema-{self.version}.json"

    def file(self) -> Traversable:
        return directory() / self.filename

    def entries(self) -> list[dict[str, Any]]:
        from optcompare.schema.load import parse_schema_text

        return parse_schema_text(self.file().read_text(encoding="utf-8"), self.name)


CORPUS: tuple[Reply, ...] = (
    Reply("3.1.0", "v3.1.0-rc2", "caps_3.1.0.x86_64.replies"),
    Reply("4.0.0", "v4.0.0", "caps_4.0.0.x86_64.replies"),
    Reply("4.1.0-dev", "v4.0.0-1481 (4.1 development, 2019-06-18)",
          "caps_4.1.0.x86_64.replies"),
    Reply("4.2.0", "v4.2.0", "caps_4.2.0.x86_64.replies"),
    Reply("5.2.0", "v5.2.0", "caps_5.2.0.x86_64.replies"),
    Reply("8.1.0", "v8.1.0", "caps_8.1.0_x86_64.replies"),
)

FEATURE_QUERY = "blockdev-add/arg-type/+file/$dynamic-auto-read-only"
"""libvirt's probe for 4.1's feature flag, answered for each reply in the listing."""

LIST = "list"
"""The ``--schema`` value that lists the corpus instead of reading a reply."""


def directory() -> Traversable:
    """Where the replies are installed (with their README)."""
    return resources.files("optcompare.schema") / "replies"


def find(name: str) -> Reply | None:
    """The shipped reply called ``name``, if there is one."""
    return next((reply for reply in CORPUS if reply.name == name), None)


def names() -> list[str]:
    return [reply.name for reply in CORPUS]


@frozen
class Listed:
    """One shipped reply as ``probe --schema list`` shows it."""

    name: str
    file: str
    qemu: str
    source: str
    entries: int
    dynamic_auto_read_only: bool
    """:data:`FEATURE_QUERY` holds on the reply."""


@frozen
class Listing:
    query: str
    libvirt_data: str
    replies: tuple[Listed, ...]


def listing() -> Listing:
    """Every shipped reply, its entries counted and :data:`FEATURE_QUERY` evaluated."""
    from optcompare.schema.query import SchemaIndex, path_exists

    replies = []
    for reply in CORPUS:
        entries = reply.entries()
        replies.append(Listed(reply.name, reply.filename, reply.qemu, reply.source, len(entries),
                              path_exists(SchemaIndex(entries), FEATURE_QUERY)))
    return Listing(FEATURE_QUERY, LIBVIRT_DATA, tuple(replies))
