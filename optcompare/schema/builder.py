"""A synthetic ``query-qmp-schema`` reply for a build, in the real SchemaInfo shape.

The reply follows reference section 6: built-in types with their
``json-type``, commands and events under their real names, every other type
under a masked number assigned in the order the generator first needs it
(``"0"`` is the empty object, as in QEMU), ``optional`` members carrying
``"default": null``, and enums in the 4.x ``values`` style.

``blockdev-add`` takes a flat union on ``driver``: the base members
(``driver``, ``node-name``, ``discard``, ``cache``, the policy's
:meth:`~optcompare.policies.base.Policy.base_options` as optional members,
``force-share``, ``detect-zeroes``) and one variant per driver of the build,
pointing at the masked struct named by
:meth:`~optcompare.policies.base.Policy.struct_of`. Drivers that share a
struct share one entry: its realistic members, then the policy's
:meth:`~optcompare.policies.base.Policy.driver_options` as optional members,
then ``features`` when
:meth:`~optcompare.policies.base.Policy.struct_features` gives any. Windows
builds lack the POSIX-only entities: the POSIX-only drivers (the catalogue
drops them) and the members marked ``posix`` below. The policy's extra
commands (option 2's ``query-qemu-features``) come last with their types.
An option is a ``bool`` member, or, where
:meth:`~optcompare.policies.base.Policy.domain` makes it an enum, a member
of a (masked) enum type whose ``values`` are that domain; options of the
same values share one enum type.

The same build always gives the same list; it is computed once per
:class:`Shape` (what the reply is made of), which many builds share.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from optcompare.frozen import frozen
from optcompare.model.drivers import Driver, Platform
from optcompare.model.options import Domain, is_boolean, value_text
from optcompare.policies.base import Build, Command, Member
from optcompare.schema.query import SchemaIndex

Entry = dict[str, Any]

EMPTY_OBJECT = "0"
"""QEMU's masked name of the empty object (arguments or return of many commands)."""

BUILTINS: tuple[tuple[str, str], ...] = (
    ("str", "string"),
    ("int", "int"),
    ("any", "value"),
    ("bool", "boolean"),
    ("number", "number"),
    ("null", "null"),
)
_BUILTIN_NAMES = frozenset(name for name, _ in BUILTINS)

BLOCKDEV_OPTIONS = "BlockdevOptions"


@frozen
class _Field:
    """One member spec: ``"*name:type"`` (``*`` optional), ``"...@posix"`` POSIX only."""

    name: str
    type: str
    optional: bool
    posix_only: bool

    @classmethod
    def parse(cls, spec: str) -> _Field:
        posix_only = spec.endswith("@posix")
        spec = spec.removesuffix("@posix")
        optional = spec.startswith("*")
        name, _, type_name = spec.removeprefix("*").partition(":")
        return cls(name, type_name, optional, posix_only)


def _fields(*specs: str) -> tuple[_Field, ...]:
    return tuple(_Field.parse(spec) for spec in specs)


# Named types other than driver structs: ("enum", values), ("object", fields)
# or ("alternate", member types). Members follow QEMU 4.x (trimmed).
_ENUMS: dict[str, tuple[str, ...]] = {
    "BlockdevDiscardOptions": ("ignore", "unmap"),
    "BlockdevDetectZeroesOptions": ("off", "on", "unmap"),
    "OnOffAuto": ("auto", "on", "off"),
    "BlockdevAioOptions": ("threads", "native"),
    "BlockdevOnError": ("report", "ignore", "enospc", "stop", "auto"),
    "JobStatus": (
        "undefined", "created", "running", "paused", "ready", "standby", "waiting",
        "pending", "aborting", "concluded", "null",
    ),
    "JobType": ("commit", "stream", "mirror", "backup", "create"),
    "QMPCapability": ("oob",),
    "SchemaMetaType": ("builtin", "enum", "array", "object", "alternate", "command", "event"),
    "IscsiTransport": ("tcp", "iser"),
    "IscsiHeaderDigest": ("crc32c", "none", "crc32c-none", "none-crc32c"),
    "NFSTransport": ("inet",),
    "SocketAddressType": ("inet", "unix", "vsock", "fd"),
    "SshHostKeyCheckMode": ("none", "hash", "known_hosts"),
    "BlockExportType": ("nbd",),
}

_OBJECTS: dict[str, tuple[_Field, ...]] = {
    "BlockdevCacheOptions": _fields("*direct:bool", "*no-flush:bool"),
    "VersionTriple": _fields("major:int", "minor:int", "micro:int"),
    "VersionInfo": _fields("qemu:VersionTriple", "package:str"),
    "SchemaInfo": _fields("name:str", "meta-type:SchemaMetaType"),
    "InetSocketAddressBase": _fields("host:str", "port:str"),
    "InetSocketAddress": _fields("host:str", "port:str", "*numeric:bool", "*to:int"),
    "SocketAddress": _fields("type:SocketAddressType", "*host:str", "*port:str", "*path:str"),
    "NFSServer": _fields("type:NFSTransport", "host:str"),
    "BlockDeviceInfo": _fields(
        "file:str", "*node-name:str", "ro:bool", "drv:str", "*backing_file:str",
        "backing_file_depth:int", "encrypted:bool", "detect_zeroes:BlockdevDetectZeroesOptions",
    ),
    "BlockExportOptionsNbd": _fields("*name:str", "*description:str", "*bitmaps:[str]"),
    "ObjectPropertyInfo": _fields("name:str", "type:str", "*description:str"),
}

_ALTERNATES: dict[str, tuple[str, ...]] = {
    "BlockdevRef": (BLOCKDEV_OPTIONS, "str"),
    "BlockdevRefOrNull": (BLOCKDEV_OPTIONS, "str", "null"),
}

# Realistic members of each driver options struct of the catalogue. A struct
# a policy derives from one of these (option 3's ``...Dynamic``) inherits
# the members of the longest known prefix.
_DRIVER_STRUCTS: dict[str, tuple[_Field, ...]] = {
    "BlockdevOptionsFile": _fields(
        "filename:str", "*pr-manager:str", "*locking:OnOffAuto", "*aio:BlockdevAioOptions",
        "*drop-cache:bool@posix", "*x-check-cache-dropped:bool",
    ),
    "BlockdevOptionsGluster": _fields(
        "volume:str", "path:str", "server:[SocketAddress]", "*debug:int", "*logfile:str",
    ),
    "BlockdevOptionsIscsi": _fields(
        "transport:IscsiTransport", "portal:str", "target:str", "*lun:int", "*user:str",
        "*password-secret:str", "*initiator-name:str", "*header-digest:IscsiHeaderDigest",
        "*timeout:int",
    ),
    "BlockdevOptionsNbd": _fields(
        "server:SocketAddress", "*export:str", "*tls-creds:str", "*x-dirty-bitmap:str",
    ),
    "BlockdevOptionsRbd": _fields(
        "pool:str", "image:str", "*conf:str", "*snapshot:str", "*user:str",
        "*server:[InetSocketAddressBase]",
    ),
    "BlockdevOptionsCurlHttp": _fields(
        "url:str", "*readahead:int", "*timeout:int", "*username:str", "*password-secret:str",
        "*cookie:str", "*cookie-secret:str",
    ),
    "BlockdevOptionsCurlHttps": _fields(
        "url:str", "*readahead:int", "*timeout:int", "*username:str", "*password-secret:str",
        "*cookie:str", "*sslverify:bool", "*cookie-secret:str",
    ),
    "BlockdevOptionsCurlFtp": _fields(
        "url:str", "*readahead:int", "*timeout:int", "*username:str", "*password-secret:str",
    ),
    "BlockdevOptionsCurlFtps": _fields(
        "url:str", "*readahead:int", "*timeout:int", "*username:str", "*password-secret:str",
        "*sslverify:bool",
    ),
    "BlockdevOptionsGenericFormat": _fields("file:BlockdevRef"),
    "BlockdevOptionsGenericCOWFormat": _fields("file:BlockdevRef", "*backing:BlockdevRefOrNull"),
    "BlockdevOptionsVVFAT": _fields(
        "dir:str", "*fat-type:int", "*floppy:bool", "*label:str", "*rw:bool",
    ),
    "BlockdevOptionsSsh": _fields(
        "server:InetSocketAddress", "path:str", "*user:str",
        "*host-key-check:SshHostKeyCheckMode",
    ),
    "BlockdevOptionsNfs": _fields(
        "server:NFSServer", "path:str", "*user:int", "*group:int", "*tcp-syn-count:int",
        "*readahead-size:int", "*page-cache-size:int", "*debug:int",
    ),
    "BlockdevOptionsNVMe": _fields("device:str", "namespace:int"),
    "BlockdevOptionsNull": _fields("*size:int", "*latency-ns:int", "*read-zeroes:bool"),
    "BlockdevOptionsQcow2": _fields(
        "file:BlockdevRef", "*backing:BlockdevRefOrNull", "*lazy-refcounts:bool",
        "*pass-discard-request:bool", "*pass-discard-snapshot:bool", "*pass-discard-other:bool",
        "*cache-size:int", "*l2-cache-size:int", "*refcount-cache-size:int",
        "*cache-clean-interval:int",
    ),
    "BlockdevOptionsRaw": _fields("file:BlockdevRef", "*offset:int", "*size:int"),
}

_JOB_OPTIONS = ("*speed:int", "*on-error:BlockdevOnError", "*auto-finalize:bool",
                "*auto-dismiss:bool")

# The common commands: (name, argument fields or a named type, return type).
# ``None`` for the arguments or the return means the empty object.
_Args = tuple[_Field, ...] | str | None
COMMON_COMMANDS: tuple[tuple[str, _Args, str | None], ...] = (
    ("qmp_capabilities", _fields("*enable:[QMPCapability]"), None),
    ("query-qmp-schema", None, "[SchemaInfo]"),
    ("query-version", None, "VersionInfo"),
    ("blockdev-add", BLOCKDEV_OPTIONS, None),
    ("blockdev-del", _fields("node-name:str"), None),
    ("block-commit", _fields(
        "*job-id:str", "device:str", "*base-node:str", "*base:str", "*top-node:str", "*top:str",
        "*backing-file:str", "*filter-node-name:str", *_JOB_OPTIONS,
    ), None),
    ("block-stream", _fields(
        "*job-id:str", "device:str", "*base:str", "*base-node:str", "*backing-file:str",
        *_JOB_OPTIONS,
    ), None),
    ("blockdev-snapshot", _fields("node:str", "overlay:str"), None),
    ("block-job-complete", _fields("device:str"), None),
    ("job-complete", _fields("id:str"), None),
    ("job-dismiss", _fields("id:str"), None),
    ("query-named-block-nodes", _fields("*flat:bool"), "[BlockDeviceInfo]"),
    ("block-export-add", "BlockExportOptions", None),
    # What the shipped libvirt asks before it uses -blockdev (model.capabilities).
    ("human-monitor-command", _fields("command-line:str", "*cpu-index:int"), "str"),
    ("device-list-properties", _fields("typename:str"), "[ObjectPropertyInfo]"),
)

REOPEN_COMMAND = "x-blockdev-reopen"

EVENTS: tuple[tuple[str, tuple[_Field, ...]], ...] = (
    ("JOB_STATUS_CHANGE", _fields("id:str", "status:JobStatus")),
    ("BLOCK_JOB_READY", _fields(
        "type:JobType", "device:str", "len:int", "offset:int", "speed:int",
    )),
    ("BLOCK_JOB_COMPLETED", _fields(
        "type:JobType", "device:str", "len:int", "offset:int", "speed:int", "*error:str",
    )),
)

COMMON_COMMAND_NAMES: tuple[str, ...] = (
    *(name for name, _, _ in COMMON_COMMANDS),
    REOPEN_COMMAND,
)
"""Commands every build may have (``x-blockdev-reopen`` where ``has_reopen``)."""


def _member(name: str, type_name: str, optional: bool) -> Entry:
    if optional:
        return {"name": name, "default": None, "type": type_name}
    return {"name": name, "type": type_name}


Option = tuple[str, Domain]
"""An option and its values (on/off, or an enum's)."""


class _Struct(NamedTuple):
    """A named tuple: every build's shape makes one per options struct."""

    name: str
    options: tuple[Option, ...]
    features: tuple[str, ...]


Source = _Struct | tuple[_Field, ...]
"""What a type that may vary alone is made from: a driver struct, or a command's returns."""


@frozen
class Shape:
    """Everything a build's reply is made of; builds of one shape share one reply.

    A policy's later releases (a driver's behaviour changed) mostly keep the
    shape of their base build: their reply is generated once. Most of the
    others differ from an earlier shape only in one struct's members or
    features or in a command's returns: their reply is that one's with those
    entries made again (:func:`_revise`).
    """

    platform: Platform
    base_options: tuple[Option, ...]
    has_reopen: bool
    variants: tuple[tuple[str, str], ...]
    """(driver, struct) for every driver of the build, by driver name."""
    structs: tuple[_Struct, ...]
    """Each struct once, in the order of its first driver."""
    commands: tuple[Command, ...]
    command_features: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(common command, its QAPI features) where it has any."""

    @functools.cached_property
    def _hash(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def of(cls, build: Build) -> Shape:
        policy, drivers = build.policy, build.drivers
        if build.platform is not Platform.POSIX:
            # The BlockdevOptions union lists its variants unconditionally
            # (block-core.json @v4.1.0): a Windows reply still has host_cdrom,
            # gluster, ... although the build cannot open them.
            drivers = {**policy.build(Platform.POSIX).drivers, **drivers}
        # iser is reachable only through -drive: no BlockdevDriver value, no variant.
        struct_of = policy.struct_of
        members: dict[str, list[Driver]] = {}
        variants = []
        for name, driver in sorted(drivers.items()):
            if driver.blockdev:
                struct = struct_of(driver, drivers)
                variants.append((name, struct))
                members.setdefault(struct, []).append(driver)
        structs = []
        for struct, group in members.items():
            options: dict[str, Domain] = {}
            for driver in group:
                for option in policy.driver_options(driver, drivers):
                    if option not in options:
                        options[option] = policy.domain(option, driver, drivers)
            features = policy.struct_features(struct, group, build.platform)
            structs.append(_Struct(struct, tuple(options.items()), tuple(features or ())))
        command_features = tuple(
            (name, found) for name, _, _ in COMMON_COMMANDS
            if (found := tuple(policy.command_features(name, build.platform)))
        )
        # A base option takes the same values on every driver (Policy.domain).
        first = next(iter(drivers.values()))
        base = tuple((option, policy.domain(option, first, drivers))
                     for option in policy.base_options())
        return cls(build.platform, base, policy.has_reopen, tuple(variants),
                   tuple(structs), tuple(policy.commands(build.platform)), command_features)


class _Generator:
    """Builds one reply; masked names are handed out in the order types are needed."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.platform = shape.platform
        self.names: dict[str, str] = {}
        self.types: list[Entry] = []
        self.next_number = 0
        self.spans: dict[str, tuple[int, int, int, int]] = {}
        """Each defined type: (its slot in ``types``, names known before and after its body,
        the next number when its body was made)."""
        self.sources: dict[str, Source] = {}
        """The types made from a part of the shape that may vary alone: that part."""

    # -- naming ------------------------------------------------------------
    def ref(self, key: str, define: Callable[[], Entry] | None = None) -> str:
        """The masked name of type ``key``, defining it on first use."""
        if key in _BUILTIN_NAMES:
            return key
        if key.startswith("[") and key.endswith("]"):
            element = self.ref(key[1:-1])
            name = f"[{element}]"
            if name not in self.names:
                self.names[name] = name
                self.types.append({"name": name, "meta-type": "array", "element-type": element})
            return name
        known = self.names.get(key)
        if known is not None:
            return known
        name = str(self.next_number)
        self.next_number += 1
        self.names[key] = name
        slot = len(self.types)
        self.types.append({})
        before, numbered = len(self.names), self.next_number
        body = define() if define is not None else self.define_named(key)
        self.types[slot] = {"name": name, **body}
        self.spans[key] = (slot, before, len(self.names), numbered)
        return name

    def define_named(self, key: str) -> Entry:
        if key in _ENUMS:
            return {"meta-type": "enum", "values": list(_ENUMS[key])}
        if key in _OBJECTS:
            return self.object_body(_OBJECTS[key])
        if key in _ALTERNATES:
            members = [{"type": self.ref(t)} for t in _ALTERNATES[key]]
            return {"meta-type": "alternate", "members": members}
        if key == BLOCKDEV_OPTIONS:
            return self.blockdev_options()
        if key == "BlockExportOptions":
            return self.export_options()
        # A type named by a plugin's command member: an empty object stands in.
        return {"meta-type": "object", "members": []}

    def object_body(self, fields: tuple[_Field, ...], extra: list[Entry] | None = None) -> Entry:
        members = [
            _member(f.name, self.ref(f.type), f.optional)
            for f in fields
            if not (f.posix_only and self.platform is not Platform.POSIX)
        ]
        return {"meta-type": "object", "members": members + (extra or [])}

    # -- blockdev-add --------------------------------------------------------
    def blockdev_options(self) -> Entry:
        base = [
            _member("driver", self.ref("BlockdevDriver", self.driver_enum), False),
            _member("node-name", "str", True),
            _member("discard", self.ref("BlockdevDiscardOptions"), True),
            _member("cache", self.ref("BlockdevCacheOptions"), True),
            *(_member(option, self.option_type(domain), True)
              for option, domain in self.shape.base_options),
            _member("force-share", "bool", True),
            _member("detect-zeroes", self.ref("BlockdevDetectZeroesOptions"), True),
        ]
        structs = {struct.name: struct for struct in self.shape.structs}
        variants = []
        for name, struct in self.shape.variants:
            masked = self.ref(_struct_key(struct), functools.partial(self.struct, structs[struct]))
            variants.append({"case": name, "type": masked})
        return {"meta-type": "object", "tag": "driver", "members": base, "variants": variants}

    def driver_enum(self) -> Entry:
        return {"meta-type": "enum", "values": [name for name, _ in self.shape.variants]}

    def option_type(self, domain: Domain) -> str:
        """``bool``, or the masked enum type of the option's values."""
        if is_boolean(domain):
            return "bool"
        values = [value_text(v) for v in domain]
        return self.ref("enum:" + ",".join(values),
                        lambda: {"meta-type": "enum", "values": values})

    def struct(self, struct: _Struct) -> Entry:
        self.sources[_struct_key(struct.name)] = struct
        options = [_member(option, self.option_type(domain), True)
                   for option, domain in struct.options]
        body = self.object_body(_struct_fields(struct.name), options)
        if struct.features:
            body["features"] = list(struct.features)
        return body

    def export_options(self) -> Entry:
        base = [
            _member("type", self.ref("BlockExportType"), False),
            _member("id", "str", False),
            _member("node-name", "str", False),
            _member("writable", "bool", True),
            _member("writethrough", "bool", True),
        ]
        variants = [{"case": "nbd", "type": self.ref("BlockExportOptionsNbd")}]
        return {"meta-type": "object", "tag": "type", "members": base, "variants": variants}

    # -- commands and events ---------------------------------------------------
    def arguments(self, command: str, args: _Args) -> str:
        if args is None or args == ():
            return self.ref("q_empty", _empty)
        if isinstance(args, str):
            return self.ref(args)
        return self.ref(f"args:{command}", lambda: self.object_body(args))

    def returns(self, ret: str | None) -> str:
        return self.ref("q_empty", _empty) if ret is None else self.ref(ret)

    def command(self, name: str, args: _Args, ret: str | None) -> Entry:
        entry: Entry = {
            "name": name,
            "meta-type": "command",
            "arg-type": self.arguments(name, args),
            "ret-type": self.returns(ret),
        }
        features = dict(self.shape.command_features).get(name)
        if features:
            entry["features"] = list(features)
        return entry

    def extra_command(self, command: Command) -> Entry:
        arguments = _policy_fields(command.arguments)
        returns = _policy_fields(command.returns)
        ret_key = _returns_key(command)
        ret = self.ref(ret_key, lambda: self.returned(ret_key, returns))
        return {
            "name": command.name,
            "meta-type": "command",
            "arg-type": self.arguments(command.name, arguments),
            "ret-type": ret,
        }

    def returned(self, key: str, returns: tuple[_Field, ...]) -> Entry:
        self.sources[key] = returns
        return self.object_body(returns)

    def body(self, key: str, source: Source) -> Entry:
        """The body of type ``key`` made from ``source`` (a struct or a command's returns)."""
        if isinstance(source, _Struct):
            return self.struct(source)
        return self.returned(key, source)

    def event(self, name: str, fields: tuple[_Field, ...]) -> Entry:
        return {
            "name": name,
            "meta-type": "event",
            "arg-type": self.ref(f"event:{name}", lambda: self.object_body(fields)),
        }

    def reply(self) -> _Reply:
        entries = self.run()
        first_type = len(entries) - len(self.types) - len(BUILTINS)
        bodies = {}
        for key, source in self.sources.items():
            slot, known, after, numbered = self.spans[key]
            bodies[key] = _Body(first_type + slot, known, after - known, numbered, source)
        return _Reply(entries, self.names, bodies)

    def run(self) -> list[Entry]:
        self.ref("q_empty", _empty)  # "0", as in QEMU
        entries: list[Entry] = []
        for name, args, ret in COMMON_COMMANDS:
            entries.append(self.command(name, args, ret))
            if name == "blockdev-add" and self.shape.has_reopen:
                entries.append(self.command(REOPEN_COMMAND, BLOCKDEV_OPTIONS, None))
        for name, fields in EVENTS:
            entries.append(self.event(name, fields))
        for command in self.shape.commands:
            entries.append(self.extra_command(command))
        builtins = [
            {"name": name, "meta-type": "builtin", "json-type": json_type}
            for name, json_type in BUILTINS
        ]
        return entries + self.types + builtins


def _empty() -> Entry:
    return {"meta-type": "object", "members": []}


@functools.cache
def _struct_fields(struct: str) -> tuple[_Field, ...]:
    known = [name for name in _DRIVER_STRUCTS if struct.startswith(name)]
    if not known:
        return ()
    return _DRIVER_STRUCTS[max(known, key=len)]


def _policy_fields(members: tuple[Member, ...]) -> tuple[_Field, ...]:
    return tuple(_Field(m.name, m.type, m.optional, False) for m in members)


def _struct_key(struct: str) -> str:
    return f"struct:{struct}"


def _returns_key(command: Command) -> str:
    return f"ret:{command.ret_struct or command.name}"


@frozen
class _Body:
    """Where a type made from one varying part of the shape sits in the reply."""

    position: int
    known: int
    """How many names were known when its body was made (its own included)."""
    defined: int
    """How many types its body named first (their entries follow its own)."""
    numbered: int
    """The generator's next number when its body was made."""
    source: Source


@frozen
class _Reply:
    """A generated ``query-qmp-schema`` reply, with what revising it for one change needs."""

    entries: list[Entry]
    names: dict[str, str]
    """Type key -> its name in the reply, in the order the names were handed out."""
    bodies: dict[str, _Body]
    """Of a reply generated in full (a revised one is never revised in turn)."""
    revised: tuple[Shape, dict[int, Entry]] | None = None
    """The shape whose reply this one was made from, and the entries it replaced (by
    position)."""


def _posix_only(fields: tuple[_Field, ...]) -> bool:
    return any(f.posix_only for f in fields)


_PLATFORM_IN_STRUCTS_ONLY = not any(
    _posix_only(fields)
    for fields in (
        *_OBJECTS.values(),
        *(args for _, args, _ in COMMON_COMMANDS if isinstance(args, tuple)),
        *(fields for _, fields in EVENTS),
    )
)
"""Whether only driver structs have POSIX-only members (a command's own never do): then
the replies of two platforms differ only where their sources do or in those structs."""

_VARYING = ("structs", "commands", *(("platform",) if _PLATFORM_IN_STRUCTS_ONLY else ()))
_SHAPE_PARTS = tuple(f.name for f in dataclasses.fields(Shape) if f.name not in _VARYING)
_COMMAND_PARTS = tuple(f.name for f in dataclasses.fields(Command) if f.name != "returns")

Skeleton = tuple[Any, ...]


def _skeleton(shape: Shape) -> Skeleton:
    """``shape`` without what may vary alone: its structs' members and features, its
    commands' returns, and its platform (where only structs depend on it)."""
    return (
        *(getattr(shape, part) for part in _SHAPE_PARTS),
        tuple(s.name for s in shape.structs),
        tuple(tuple(getattr(c, part) for part in _COMMAND_PARTS) for c in shape.commands),
    )


def _made_again(source: Source, body: _Body, platform_changed: bool) -> bool:
    """Whether a type's body made from ``source`` may differ from ``body``'s."""
    if source != body.source:
        return True
    return platform_changed and isinstance(source, _Struct) and _posix_only(
        _struct_fields(source.name))


def _sources(shape: Shape) -> dict[str, Source]:
    """What each varying type of ``shape``'s reply is to be made from."""
    sources: dict[str, Source] = {_struct_key(s.name): s for s in shape.structs}
    for command in shape.commands:  # a shared return type is made from its first command
        sources.setdefault(_returns_key(command), _policy_fields(command.returns))
    return sources


def _revise(shape: Shape, first: Shape) -> _Reply | None:
    """``shape``'s reply made from the reply of ``first``, of the same skeleton.

    Only the types whose source differs are made again, each from the names
    known when ``first``'s was made. When each one's new body names first the
    same types, with the same entries, as its old body, the generator is left
    as it was for ``first``, so every other entry is ``first``'s; otherwise
    None (the numbering would move).
    """
    base = _reply(first)
    sources = _sources(shape)
    replaced: dict[int, Entry] = {}
    platform_changed = shape.platform is not first.platform
    for key, body in base.bodies.items():
        source = sources[key]
        if not _made_again(source, body, platform_changed):
            continue
        generator = _Generator(shape)
        generator.names = dict(itertools.islice(base.names.items(), body.known))
        generator.next_number = body.numbered
        made = generator.body(key, source)
        named = body.position + 1
        if (
            list(generator.names)[body.known:]
            != list(itertools.islice(base.names, body.known, body.known + body.defined))
            or generator.types != base.entries[named:named + body.defined]
        ):
            return None
        replaced[body.position] = {"name": base.names[key], **made}
    entries = list(base.entries)
    for position, entry in replaced.items():
        entries[position] = entry
    return _Reply(entries, base.names, {}, (first, replaced))


_FIRST_OF_SKELETON: dict[Skeleton, Shape] = {}
"""Each skeleton's first shape: its reply is generated in full, the others revise it."""


@functools.lru_cache(maxsize=512)
def _reply(shape: Shape) -> _Reply:
    first = _FIRST_OF_SKELETON.setdefault(_skeleton(shape), shape)
    if first != shape:
        revised = _revise(shape, first)
        if revised is not None:
            return revised
    return _Generator(shape).reply()


def _generated(shape: Shape) -> list[Entry]:
    return _reply(shape).entries


@functools.lru_cache(maxsize=512)
def _shape(build: Build) -> Shape:
    return Shape.of(build)


@functools.lru_cache(maxsize=512)
def _text(shape: Shape) -> str:
    return json.dumps(_generated(shape), separators=(",", ":"))


def build_schema(build: Build) -> list[dict[str, Any]]:
    """The ``query-qmp-schema`` reply of ``build`` (a fresh copy on each call)."""
    entries: list[dict[str, Any]] = json.loads(_text(_shape(build)))
    return entries


def schema_index(build: Build) -> SchemaIndex:
    """The build's schema, indexed for path queries (shared: do not modify it)."""
    return _index(_shape(build))


@functools.lru_cache(maxsize=512)
def _index(shape: Shape) -> SchemaIndex:
    reply = _reply(shape)
    if reply.revised is None:
        return SchemaIndex(reply.entries)
    first, replaced = reply.revised
    return SchemaIndex.revised(_index(first), replaced)
