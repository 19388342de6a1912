"""What ``explore --emit DIR`` writes: each finding as a format-v1 scenario file.

Every step expects what it gave on the policy it was found on, and a last
``assert`` records the violated property or the differing state, so that
``check`` accepts the file and ``run FILE --policy P`` replays it as meets.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from optcompare.render.explore_views import PROPERTY_TITLES
from optcompare.scenario.properties import IMAGE_PROPERTIES
from optcompare.scenario.spec import Image, Setup, Step
from optcompare.scenario.write import scenario_text

if TYPE_CHECKING:
    from optcompare.analysis.differential import DifferentialRun
    from optcompare.analysis.explore import Bounds, Exploration, Workflow
    from optcompare.scenario.runner import StepRecord


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def file_name(policy: str, prop: str) -> str:
    """The file a counterexample is written to."""
    return f"{_slug(f'explore-{policy}-{prop}')}.toml"


def _setup(bounds: Bounds, workflow: Workflow) -> Setup:
    return Setup(frontend=bounds.frontend, driver=bounds.driver, platform=bounds.platform,
                 client=bounds.client, readonly=workflow.start.readonly,
                 images=tuple(Image(i.name, i.writable) for i in workflow.images()))


def _source(bounds: Bounds) -> str:
    return (f"optcompare explore --depth {bounds.depth} --images {bounds.images} "
            f"--driver {bounds.driver} --frontend {bounds.frontend} --client {bounds.client}")


def _assert(index: int, image: str, record: StepRecord, **extra: object) -> Step:
    seen = record.state[image]
    args: dict[str, object] = {"image": image, **extra, "fd": seen.fd.value}
    if seen.ro is not None:
        args["ro"] = seen.ro
    if seen.denials is not None:
        args["denials"] = seen.denials
    return Step(index, "assert", args)


def counterexample_files(exploration: Exploration) -> list[tuple[str, str]]:
    files = []
    bounds = exploration.bounds
    for found in exploration.searches:
        for result in found.results:
            example = result.counterexample
            if example is None:
                continue
            steps = list(example.workflow.steps)
            prop = example.property
            if example.image is not None:
                extra: dict[str, object] = {}
                if prop in IMAGE_PROPERTIES:
                    extra = {"property": prop.value, "holds": False}
                steps.append(_assert(len(steps), example.image, example.trace[-1], **extra))
            name = file_name(found.policy, prop.value).removesuffix(".toml")
            summary = (f"found by explore: the shortest workflow on which {found.policy} "
                       f"violates {prop.value} ({PROPERTY_TITLES[prop.value]})")
            files.append((f"{name}.toml", scenario_text(
                name, summary, _source(bounds), _setup(bounds, example.workflow), steps)))
    return files


def difference_files(exploration: Exploration) -> list[tuple[str, str]]:
    files = []
    bounds = exploration.bounds
    for diff in exploration.differences:
        if diff.workflow is None:
            continue
        steps = list(diff.workflow.steps)
        for image in dict.fromkeys(s.image for s in diff.what() if s.image is not None):
            steps.append(_assert(len(steps), image, diff.first_trace[-1]))
        name = _slug(f"explore-{diff.first}-vs-{diff.second}")
        summary = (f"found by explore: the shortest workflow on which {diff.first} and "
                   f"{diff.second} differ; its expectations are {diff.first}'s")
        files.append((f"{name}.toml", scenario_text(
            name, summary, _source(bounds), _setup(bounds, diff.workflow), steps)))
    return files


def disagreement_files(run: DifferentialRun) -> list[tuple[str, str]]:
    """Each shrunk disagreement; its expectations are the model's, so it meets on the
    model and shows the disagreement on ``run --backend qemu``."""
    files = []
    found_in = [(leg, found) for leg in run.legs for found in leg.found]
    for number, (result, found) in enumerate(found_in, 1):
        comparison = found.comparison
        step = comparison.disagreements[0].step if comparison.disagreements else "the run"
        name = _slug(f"differential-{number}-{result.frontend}-{step.split(' ', 1)[0]}")
        summary = (f"found by explore --backend qemu: the model of {result.policy} and the "
                   f"real QEMU disagree at {step} (-{result.frontend}); the expectations "
                   "are the model's")
        # No error texts: the model runs here with the daemon's (5.2+) wording, which
        # `run --policy qemu-4.1` does not use.
        steps = [replace(s, error=None) for s in found.workflow.steps]
        files.append((f"{name}.toml", scenario_text(
            name, summary, _source(result.bounds) + " --backend qemu",
            _setup(result.bounds, found.workflow), steps)))
    return files


def emitted_files(exploration: Exploration) -> list[tuple[str, str]]:
    return counterexample_files(exploration) + difference_files(exploration)


__all__ = ["counterexample_files", "difference_files", "disagreement_files", "emitted_files"]
