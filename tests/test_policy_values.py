"""Every built-in policy (and the shipped libvirt) is a frozen value, whether or not its
class is declared a dataclass itself."""

from __future__ import annotations

import dataclasses

import pytest

from optcompare.policies import libvirt, registry
from optcompare.policies.base import Policy

POLICIES: list[Policy] = [*registry.builtins(), libvirt.CLIENT]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_a_policy_is_a_frozen_value(policy: Policy) -> None:
    assert dataclasses.is_dataclass(policy)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.title = "changed"  # type: ignore[misc]
    copy = dataclasses.replace(policy)
    assert copy == policy and hash(copy) == hash(policy) and copy is not policy
    assert type(copy) is type(policy)
    assert dataclasses.replace(policy, title="other") != policy
    assert repr(policy).startswith(f"{type(policy).__qualname__}(name={policy.name!r}")


def test_policies_of_different_classes_with_the_same_fields_differ() -> None:
    plain = Policy(**{f.name: getattr(registry.get("qemu-4.1"), f.name)
                      for f in dataclasses.fields(Policy)})
    assert plain != registry.get("qemu-4.1")
