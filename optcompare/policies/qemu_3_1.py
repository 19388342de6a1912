"""3.1: ``auto-read-only`` added; file-posix and others fall back."""

from optcompare.policies.base import Policy, Role

POLICY = Policy(
    role=Role.RELEASE,
    name="qemu-3.1",
    title="auto-read-only added, fallback read-only",
    source='Markus, 2019-03-31, "Behavior in 3.1"; commits e35bdc123a, eaa2410f1e',
    release="3.1",
    version="3.1.0",
    has_reopen=False,
)
