"""Writing a scenario as a format-v1 file (the inverse of ``load``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from optcompare.scenario.spec import NATIVE, Setup, Step


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else json.dumps(name)


def scenario_text(name: str, summary: str, source: str, setup: Setup,
                  steps: Iterable[Step]) -> str:
    """The TOML text of a scenario; every setup key is written out."""
    lines = ["[scenario]", f"name = {_value(name)}", f"summary = {_value(summary)}",
             f"source = {_value(source)}", "", "[setup]",
             f"frontend = {_value(setup.frontend)}", f"driver = {_value(setup.driver)}",
             f"platform = {_value(setup.platform)}", f"client = {_value(setup.client or NATIVE)}",
             f"readonly = {_value(setup.readonly)}"]
    for image in setup.images:
        lines += ["", "[[setup.images]]", f"name = {_value(image.name)}",
                  f"writable = {_value(image.writable)}"]
    for step in steps:
        lines += ["", "[[steps]]", f"do = {_value(step.do)}"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in step.args.items()]
        if step.expect is not None:
            lines.append(f"expect = {_value(step.expect)}")
        if step.error is not None:
            lines.append(f"error = {_value(step.error)}")
    return "\n".join(lines) + "\n"
