"""realmctl's memory policy (realmctl/gcpolicy.py), as a process running it sees it."""

import subprocess
import sys
import textwrap

import pytest

#: Runs in a fresh interpreter: frees an 8 MiB block (glibc serves it with mmap, and by default
#: raises its mmap threshold to 8 MiB on that free), then asks for 1 MiB and prints whether glibc
#: served it with mmap (given back when freed) or from its heap (kept resident when freed).
PROBE = textwrap.dedent(
    """
    import ctypes, sys
    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = Info
    if sys.argv[1] == "tune":
        from realmctl.gcpolicy import tune
        tune()
    big = bytearray(8 * 2**20)
    del big
    before = libc.mallinfo2().hblks
    block = bytearray(2**20)
    print("mmap" if libc.mallinfo2().hblks > before else "heap")
    """
)


def _glibc_with_mallinfo2() -> bool:
    import ctypes

    try:
        return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc's mmap threshold (Linux, glibc 2.33+)")
def test_large_blocks_freed_after_a_larger_one_are_still_given_back() -> None:
    """Response bodies of ~1 MB freed after scrypt's 16 MiB must not stay resident in glibc's heap."""
    untuned = subprocess.run([sys.executable, "-c", PROBE, "plain"], capture_output=True, text=True, check=True)
    tuned = subprocess.run([sys.executable, "-c", PROBE, "tune"], capture_output=True, text=True, check=True)
    assert untuned.stdout.strip() == "heap"  # glibc's own behaviour, which the policy changes
    assert tuned.stdout.strip() == "mmap"
