"""Before 3.1: only ``read-only`` exists."""

from optcompare.policies.base import Policy, Role

POLICY = Policy(
    role=Role.RELEASE,
    name="qemu-3.0",
    title="before 3.1: read-only only",
    source='Markus, 2019-03-31, "Behavior before 3.1"',
    release="3.0",
    version="3.0.0",
    auto_option=None,
    drive_defaults_auto=False,
    has_reopen=False,
)
