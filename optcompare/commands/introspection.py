"""Commands about introspection: schema, probe, visibility."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from optcompare.commands.common import (
    FormatOption,
    OutputOption,
    PlatformOption,
    WidthOption,
    boundary,
    emit,
    platform_of,
)
from optcompare.errors import InputError
from optcompare.render.formats import Format
from optcompare.schema.corpus import LIST

if TYPE_CHECKING:
    from optcompare.schema.query import SchemaIndex


@boundary
def schema(
    policy: Annotated[str, typer.Argument(metavar="POLICY", help="Policy whose build to show.")],
    platform: PlatformOption = "posix",
    fmt: FormatOption = Format.JSON,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """The synthetic query-qmp-schema reply of a build (policy x platform).

    The JSON output is a QMP-style object with the reply under "return", so
    that 'probe --schema FILE' reads it back.
    """
    from optcompare.policies import registry
    from optcompare.render.introspection_views import schema_view
    from optcompare.schema.builder import build_schema

    chosen = registry.get(policy)
    plat = platform_of(platform)
    entries = build_schema(chosen.build(plat))
    data = {"policy": chosen.name, "platform": plat.value, "return": entries}
    emit("qmp-schema", data, schema_view, fmt, output, width)


class _Source:
    """Where the schema of a probe comes from."""

    def __init__(self, index: SchemaIndex, label: str, version: tuple[int, int, int] | None):
        self.index = index
        self.label = label
        self.version = version


def _from_policy(name: str, platform: str | None) -> _Source:
    from optcompare.policies import registry
    from optcompare.schema.builder import schema_index
    from optcompare.schema.target import BuildTarget

    build = registry.get(name).build(platform_of(platform or "posix"))
    target = BuildTarget(build)
    return _Source(schema_index(build), f"{build.name} (model build)", target.version())


def _from_file(value: str) -> _Source:
    """A shipped reply by name (``qemu-4.0.0``), else a file."""
    from optcompare.schema import corpus
    from optcompare.schema.load import load_schema
    from optcompare.schema.query import SchemaIndex

    if not value:
        raise InputError("--schema needs a file or the name of a shipped reply, got ''")
    reply = corpus.find(value)
    if reply is not None:
        return _Source(SchemaIndex(reply.entries()), f"{reply.name} (real reply, {reply.qemu})",
                       None)
    path = Path(value)
    if "/" not in value and not path.exists():
        raise InputError(f"no such file, and not a shipped reply (known: "
                         f"{', '.join(corpus.names())}; see --schema list)", path=value)
    return _Source(SchemaIndex(load_schema(path)), value, None)


def _from_live() -> _Source:
    from optcompare.backends.qemu.daemon import QemuDaemon
    from optcompare.errors import BackendError
    from optcompare.schema.target import LiveTarget

    try:
        with QemuDaemon() as daemon:
            target = LiveTarget(daemon)
            index = target.index
            version = target.version()
    except OSError as error:
        raise BackendError(f"cannot run qemu-storage-daemon: {error}") from None
    label = "live qemu-storage-daemon " + ".".join(str(n) for n in version)
    return _Source(index, label, version)


def _source(policy: str | None, platform: str | None, schema_file: str | None,
            live: bool) -> _Source:
    given = [name for name, value in (("--policy", policy), ("--schema", schema_file is not None),
                                      ("--live", live)) if value]
    if len(given) != 1:
        found = f" (got {', '.join(given)})" if given else ""
        raise InputError(f"give exactly one of --policy, --schema or --live{found}")
    if platform is not None and policy is None:
        raise InputError("--platform applies only to --policy")
    if policy is not None:
        return _from_policy(policy, platform)
    if schema_file is not None:
        return _from_file(schema_file)
    return _from_live()


@boundary
def probe(
    queries: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[QUERY]...",
            help="libvirt schema path queries, e.g. "
            "blockdev-add/arg-type/+file/$dynamic-auto-read-only",
        ),
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", help="Probe this policy's model build.")
    ] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="With --policy: posix (default) or windows.")
    ] = None,
    schema_file: Annotated[
        str | None,
        typer.Option(
            "--schema",
            metavar="FILE|NAME",
            help="A query-qmp-schema reply: a file (a JSON array, a {\"return\": [...]} reply, "
            "or a QMP transcript, one message per line) or the name of a real reply "
            "shipped with optcompare (qemu-4.0.0, ...; 'list' lists them; ./list is a file).",
        ),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Ask a real qemu-storage-daemon (started and stopped).")
    ] = False,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Evaluate libvirt path queries on a schema; with no QUERY, what a client concludes.

    Exactly one source: --policy P (the model build), --schema FILE|NAME or
    --live. '--schema list' lists the real replies shipped with optcompare,
    where each came from and what it contains.
    Each query prints whether it holds. With no query, probe prints which
    drivers accept auto-read-only, which are advertised dynamic and how, and
    which known builds the schema is consistent with.
    """
    from optcompare.schema.query import QueryError, split_query

    for query in queries or []:
        split_query(query)  # a malformed query fails before any QEMU is started
    if schema_file == LIST and policy is None and not live and platform is None:
        if queries:
            raise InputError("--schema list lists the shipped replies: it takes no QUERY")
        _list_corpus(fmt, output, width)
        return
    source = _source(policy, platform, schema_file, live)
    try:
        _probe(source, queries or [], fmt, output, width)
    except QueryError as error:  # the schema cannot answer: name the file it came from
        if schema_file is None:
            raise
        raise InputError(error.detail, path=str(schema_file)) from None


def _probe(source: _Source, queries: list[str], fmt: Format, output: Path | None,
           width: int | None) -> None:
    from optcompare.schema.query import path_exists

    if queries:
        from optcompare.render.introspection_views import probe_view
        from optcompare.schema.query import Answers, Holds

        answers = Answers(source.label,
                          tuple(Holds(q, path_exists(source.index, q)) for q in queries))
        emit("probe", answers, probe_view, fmt, output, width)
        return
    from optcompare.render.introspection_views import conclusion_json, conclusions_view
    from optcompare.schema.conclude import conclude

    conclusion = conclude(source.index, source.label, version=source.version)
    emit("conclusions", conclusion, conclusions_view, fmt, output, width,
         encode=conclusion_json)


def _list_corpus(fmt: Format, output: Path | None, width: int | None) -> None:
    from optcompare.render.introspection_views import corpus_view
    from optcompare.schema import corpus

    emit("schema-corpus", corpus.listing(), corpus_view, fmt, output, width)


@boundary
def visibility(
    policy_names: Annotated[
        list[str] | None, typer.Argument(metavar="[POLICY]...", help="Policies (default: all).")
    ] = None,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Can a client find out which drivers are dynamic? Each property measured.

    For each policy: the signal its libvirt uses, whether it is visible in
    query-qmp-schema alone, cacheable per binary, needs an extra command,
    detectable at all (version sniffing is fragile), its granularity, false
    positives and negatives on posix and windows, and what happens in later
    releases (gluster becomes dynamic; a hard driver moves to fallback).
    """
    from optcompare.analysis.visibility import visibility as analyse
    from optcompare.policies import registry
    from optcompare.render.introspection_views import visibility_json, visibility_view

    result = analyse(registry.select(policy_names or []))
    emit("visibility", result, visibility_view, fmt, output, width, encode=visibility_json)
