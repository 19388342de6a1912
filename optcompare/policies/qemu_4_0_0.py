"""4.0.0 as it was released, beside the thread's "4.0 so far".

4.0.0's ``raw_set_perm`` never updated the open flags, so a dynamic node kept
its read/write descriptor after the last writer left (file-posix.c:2802 and
899 @v4.0.0); 094e363944 fixed it in 4.1. Everything else is ``qemu-4.0``.
"""

from __future__ import annotations

from dataclasses import replace

from optcompare.policies import qemu_4_0

POLICY = replace(
    qemu_4_0.POLICY,
    name="qemu-4.0.0",
    title="4.0.0 as released: 4.0, read/write descriptor kept after the last writer",
    source="QEMU 4.0.0: file-posix.c:2802, 899 @v4.0.0 (no downgrade; fixed by 094e363944)",
    downgrades=False,
)
