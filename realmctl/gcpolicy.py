"""How a realmctl process manages its memory: the cyclic garbage collector's pace, and glibc's
threshold for giving large blocks back.

With Python's default thresholds (700, 10, 10) a plan at 5x L (the benchmark's XL: 12,500 users,
42,000 objects and links) ran 15 full collections, each walking every object the run holds (the
spec and its positions, the live listings, the snapshot): 2.0 s of the run's 15 s of CPU, to find
almost nothing, since realmctl's data holds no reference cycles. Collecting the young generation
every 100,000 allocations instead (as mypy does for the same reason) ran none, and saved about
0.8 s in loading the spec, 0.5 s in gathering and 0.4 s in planning at XL. Garbage without
cycles is freed at once by reference counting either way; only cyclic garbage waits a little longer.

glibc serves a block of 128 KiB or more with its own mmap and unmaps it when freed, but the first
such block freed raises that threshold to its own size (up to 32 MiB), so that later large blocks
come from the heap, whose freed space is kept. A plan's large blocks are transient: the response
bodies of user pages and role member listings (~1 MB each, eight threads at once) and scrypt's
16 MiB for the secrets digest. Held in the heap they left ~40 MB free but resident at 5x L (glibc's
`mallinfo2`: 42 MB free of 72 MB); with the threshold fixed at 128 KiB the peak RSS of a plan at XL
fell by ~20 MB (248 -> 228), for a few hundred mmap calls and no measurable CPU.
"""

import ctypes
import gc
import sys

#: Allocations between young-generation collections (Python's default: 700).
YOUNG_THRESHOLD = 100_000
#: glibc's `mallopt` parameter number of the mmap threshold, and the value it is fixed at (its
#: default, which setting it explicitly keeps from rising).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024


def tune() -> None:
    """Raises the young generation's threshold for this process (never lowers it), and fixes
    glibc's mmap threshold where the C library is glibc."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
    fix_mmap_threshold()


def fix_mmap_threshold() -> bool:
    """Keeps glibc giving large freed blocks back to the system (see the module's docstring).
    Whether it was set: not on other systems, nor with another C library (musl has no such
    threshold, and its `mallopt` does nothing)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
