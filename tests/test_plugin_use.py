"""Plugins contained at every use: a hook that fails while a command uses it.

Each plugin here loads fine (it imports, builds and resolves the empty
option set), then fails only when a command reaches one of its hooks: the
probe (``detect``), the client strategy (``pick_frontend``,
``storage_options``), resolving a particular combination. The command
leaves it out with one warning line naming it and goes on with the rest.
The fixtures (a temporary site directory of distributions) are those of
test_plugins.py.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import test_plugins
from test_plugins import BUILTIN_NAMES, ROOT, Install, invoke

from optcompare.policies import registry
from optcompare.policies.base import POLICY_NAME

fresh_registry = test_plugins.fresh_registry
plugins_on = test_plugins.plugins_on
site = test_plugins.site
install = test_plugins.install

WARNING = "optcompare: warning: plugin 'flaky' (distribution optcompare-flaky 0.1): "

PLUGIN = """\
from dataclasses import dataclass, fields
from optcompare.policies.qemu_4_1 import POLICY as BASE

@dataclass(frozen=True)
class Flaky(type(BASE)):
{hooks}

POLICY = Flaky(**{{**{{f.name: getattr(BASE, f.name) for f in fields(BASE)}},
                  "name": "flaky", "title": "a flaky plugin"}})
"""

HOOKS: dict[str, tuple[str, str]] = {
    "detect-raises": (
        "def detect(self, target, drivers):\n    raise RuntimeError('probe crashed')",
        "detect() raised RuntimeError: probe crashed",
    ),
    "detect-wrong-type": (
        "def detect(self, target, drivers):\n    return 'file'",
        "detect() returned a str, not a Detection",
    ),
    "detect-wrong-field": (
        "def detect(self, target, drivers):\n"
        "    found = super().detect(target, drivers)\n"
        "    return type(found)(['file'], found.signal, found.evidence)",
        "detect() returned a Detection whose dynamic is a list",
    ),
    "frontend-raises": (
        "def pick_frontend(self, detection, driver):\n    raise ValueError('which one?')",
        "pick_frontend() raised ValueError: which one?",
    ),
    "frontend-wrong-type": (
        "def pick_frontend(self, detection, driver):\n    return 'blockdev'",
        "pick_frontend() returned a str, not a Frontend",
    ),
    "storage-read-only-raises": (  # the load check asks readonly=False only
        "def storage_options(self, backing, readonly):\n"
        "    if readonly:\n        raise KeyError('readonly')\n"
        "    return super().storage_options(backing, readonly)",
        "storage_options() raised KeyError: 'readonly'",
    ),
    "domain-wrong-type": (  # the load check writes no option: no domain is asked
        "def domain(self, option, driver, drivers):\n"
        "    if driver.name == 'nbd':\n        return ['on', 'off']\n"
        "    return super().domain(option, driver, drivers)",
        "domain() returned a list, not (True, False) or a tuple of distinct strings",
    ),
    "resolve-one-combination": (  # the load check resolves the empty option set only
        "def invalid(self, effective, driver):\n"
        "    if effective.get('read-only') and effective.get('auto-read-only'):\n"
        "        raise ZeroDivisionError('no such mode')\n"
        "    return super().invalid(effective, driver)",
        "invalid() raised ZeroDivisionError: no such mode",
    ),
}


def flaky(install: Install, hooks: str) -> None:
    source = PLUGIN.format(hooks=textwrap.indent(hooks, "    "))
    install("optcompare-flaky", "0.1", {"flaky": "optcompare_other_flaky:POLICY"},
            {"optcompare_other_flaky": source})


def names_in(data: object) -> set[str]:
    text = json.dumps(data)
    return {name for name in [*BUILTIN_NAMES, "flaky"] if f'"{name}' in text}


# What each case is left out of: (command, the JSON key listing who took part).
USES: dict[str, tuple[tuple[str, ...], ...]] = {
    "detect-raises": (("skew", "--format", "json"), ("visibility", "--format", "json"),
                      ("report", "--format", "json")),
    "detect-wrong-type": (("skew", "--format", "json"), ("report", "--format", "json")),
    "detect-wrong-field": (("visibility", "--format", "json"),),
    "frontend-raises": (("run", "--format", "json"), ("skew", "--format", "json")),
    "frontend-wrong-type": (("run", "--format", "json"),),
    "storage-read-only-raises": (("run", "--format", "json"),),
    "domain-wrong-type": (("table", "qemu-4.1", "flaky", "--driver", "nbd", "--format",
                           "json"),),
    "resolve-one-combination": (("table", "qemu-4.1", "flaky", "--driver", "file", "--format",
                                 "json"), ("report", "--format", "json")),
}


@pytest.mark.usefixtures("plugins_on")
@pytest.mark.parametrize("case", sorted(HOOKS))
def test_a_hook_that_fails_in_use_leaves_the_plugin_out_of_that_command(
    case: str, install: Install
) -> None:
    hooks, problem = HOOKS[case]
    flaky(install, hooks)
    assert "flaky" in registry.by_name()  # it passed the checks at load
    for args in USES[case]:
        registry.reset_plugins()
        code, out, err = invoke(*args)
        assert code == 0, (args, err)
        assert "Traceback" not in err
        lines = err.splitlines()
        assert len(lines) == 1, (args, err)
        assert lines[0].startswith(WARNING + "policy 'flaky' failed when used: " + problem), (
            args, lines[0])
        data = json.loads(out)  # stdout is whole JSON: nothing half-written
        taking_part = names_in(data)
        assert "flaky" not in taking_part, args
        assert "qemu-4.1" in taking_part, args  # the rest went on


@pytest.mark.usefixtures("plugins_on")
def test_a_plugin_named_alone_that_fails_in_use_is_one_error(install: Install,
                                                             tmp_path: Path) -> None:
    flaky(install, HOOKS["frontend-raises"][0])
    scenario = tmp_path / "auto.toml"
    scenario.write_text((ROOT / "scenarios" / "libvirt-qemu-4-1-auto.toml").read_text()
                        .replace('client = "qemu-4.1"', 'client = "native"'))
    code, out, err = invoke("run", str(scenario), "--policy", "flaky")
    assert code == 2
    assert out == ""
    warning, error = err.splitlines()
    assert warning.startswith(WARNING + "policy 'flaky' failed when used: pick_frontend()")
    assert error.startswith("optcompare: error: unknown policy 'flaky'")
    assert "was left out: policy 'flaky' failed when used: pick_frontend() raised" in error


@pytest.mark.usefixtures("plugins_on")
def test_a_report_that_left_a_plugin_out_at_use_is_never_stored(
    install: Install, cache_dir: Path
) -> None:
    flaky(install, HOOKS["detect-raises"][0])
    for _ in range(2):
        registry.reset_plugins()
        code, _, err = invoke("report", "-p", "qemu-3.1", "-p", "flaky", "--scenarios",
                              str(ROOT / "tests" / "golden" / "scenarios"), "-f", "json")
        assert code == 0, err
        assert err.startswith(WARNING)  # on every run: nothing was served from the store


PRINTS = """\
from dataclasses import dataclass, fields
from optcompare.policies.qemu_4_1 import POLICY as BASE
print('hello from the plugin')

@dataclass(frozen=True)
class Noisy(type(BASE)):
    def detect(self, target, drivers):
        print('probing', target)
        return super().detect(target, drivers)

POLICY = Noisy(**{**{f.name: getattr(BASE, f.name) for f in fields(BASE)}, 'name': 'noisy'})
"""


@pytest.mark.usefixtures("plugins_on")
def test_a_plugin_printing_on_stdout_cannot_corrupt_json(install: Install) -> None:
    install("optcompare-noisy", "0.1", {"noisy": "optcompare_other_noisy:POLICY"},
            {"optcompare_other_noisy": PRINTS})
    for args in (("policies", "--format", "json"), ("skew", "--format", "json"),
                 ("visibility", "--format", "json")):
        registry.reset_plugins()
        code, out, err = invoke(*args)
        assert code == 0, err
        data = json.loads(out)  # nothing but the JSON document
        assert "noisy" in json.dumps(data)
        assert "hello from the plugin" not in out and "probing" not in out


@pytest.mark.parametrize("name", [
    "Hands-Off", "hands_off", "hands off", "hands-off ", "-hands", "hands-", "hands--off",
    "qemu-4.1@windows", "h\u00e4nds-off", "hands-off\n", "4-hands", "",
])
@pytest.mark.usefixtures("plugins_on")
def test_a_plugin_name_must_follow_the_built_in_naming_rule(install: Install, name: str
                                                            ) -> None:
    source = ("from dataclasses import replace\n"
              "from optcompare.policies.qemu_3_1 import POLICY as BASE\n"
              f"POLICY = replace(BASE, name={name!r})\n")
    install("optcompare-named", "0.1", {"named": "optcompare_other_named:POLICY"},
            {"optcompare_other_named": source})
    code, out, err = invoke("policies", "--format", "json")
    assert code == 0
    assert [p["name"] for p in json.loads(out)["policies"]] == BUILTIN_NAMES
    (line,) = err.splitlines()
    assert line.startswith("optcompare: warning: plugin 'named' (distribution "
                           f"optcompare-named 0.1): invalid policy name {name!r}: expected "
                           "kebab-case ASCII")


def test_every_built_in_name_follows_the_naming_rule() -> None:
    assert all(POLICY_NAME.fullmatch(p.name) for p in registry.BUILTIN)
    assert POLICY_NAME.fullmatch("explicit-reopen")
