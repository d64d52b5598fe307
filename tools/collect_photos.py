"""Gather the sample photographs that installed Python packages ship into one folder, for the
synthetic generator's "photo" texture kind (`photos:` in a synth config, e.g. configs/synth/photo.yaml).

    python tools/collect_photos.py work_data/photos

Nothing is downloaded: the photos come from scikit-image's bundled data (`pip install
scikit-image`; the astronaut, cat, coffee, rocket, motorcycle, brick, grass, gravel, ... photos)
and matplotlib's sample data (when installed). Any folder of your own photographs works as well
(your robot's surroundings make the best backgrounds). Files already in OUT are kept.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import List, Tuple

# (package, folder inside it, photographs there): real photographs only, not charts, scans or masks.
SOURCES: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("skimage", "data", ("astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png",
                         "grass.png", "gravel.png", "moon.png", "motorcycle_left.png", "rocket.jpg")),
    ("matplotlib", "mpl-data/sample_data", ("grace_hopper.jpg",)),
)


def package_photos() -> List[Tuple[str, Path]]:
    """(package, path) of the listed photographs that the installed packages hold."""
    found = []
    for package, sub, names in SOURCES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(list(spec.submodule_search_locations)[0]) / sub
        found += [(package, folder / n) for n in names if (folder / n).is_file()]
    return found


def collect(out: Path) -> List[Path]:
    """Copy every package photo into `out` as PACKAGE_NAME; returns the files written or kept."""
    photos = package_photos()
    if not photos:
        raise FileNotFoundError("no sample photographs found: pip install scikit-image (and/or matplotlib)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for package, src in photos:
        dst = out / f"{package}_{src.name}"
        if not dst.exists():
            shutil.copyfile(src, dst)
        written.append(dst)
    return written


def main(argv: List[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        files = collect(Path(argv[0]))
    except OSError as exc:  # FileNotFoundError (no photos) included
        print(f"collect_photos: {exc}", file=sys.stderr)
        return 2
    print(f"{len(files)} photographs in {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
