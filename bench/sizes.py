"""Screen sizes from shared/DESIGN.md: the national system's 32 poster sizes, then billboard
industry and ATM sizes (render benchmarks can share this list)."""

from __future__ import annotations

# As DESIGN.md lists them (width x height).
NATIONAL = """
    3120x260 1920x1200 1920x1080 1080x1920 1792x640 1560x1440 1440x760 1320x720 1312x704
    1200x800 1152x896 1152x768 1150x160 980x440 970x250 936x624 800x600 800x130 768x864
    768x405 768x384 728x90 726x482 720x540 720x528 640x540 600x500 588x1008 576x480
    540x960 480x270 432x1008
""".split()  # noqa: SIM905
INDUSTRY = ["1400x400", "840x400", "1600x400", "600x600", "3840x2160", "1024x768", "1280x1024"]
ALL = ["1920x1080"] + [s for s in NATIONAL + INDUSTRY if s != "1920x1080"]


def distinct(count: int) -> list[str]:
    """`count` different sizes, 1920x1080 first: the design's sizes, then narrower variants of
    them (each profile is then its own render, as on a real network)."""
    sizes = []
    for i in range(count):
        width, height = map(int, ALL[i % len(ALL)].split("x"))
        sizes.append(f"{width - 2 * (i // len(ALL))}x{height}")
    return sizes
