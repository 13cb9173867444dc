"""core.progress: a part of a progress reports into its stretch of the parent."""
import pytest

from core.errors import Cancelled
from core.progress import Progress


def test_a_part_maps_onto_its_stretch_and_prefixes_its_messages():
    seen = []
    p = Progress(lambda f, m: seen.append((round(f, 6), m)))
    part = p.part(0.5, 0.25, "b.png: ")
    part.update(0.0, "start")
    part.update(1.0, "end")
    part.update(7.0, "past the end")         # clamped to the part's own end
    part.part(0.5, 0.5, "frame 2, ").update(0.5, "half")
    assert seen == [(0.5, "b.png: start"), (0.75, "b.png: end"), (0.75, "b.png: past the end"),
                    (0.6875, "b.png: frame 2, half")]


def test_cancelling_the_parent_stops_its_parts():
    p = Progress()
    part = p.part(0.0, 0.5).part(0.2, 0.2)
    part.update(0.5)
    p.cancel()
    assert part.cancelled
    with pytest.raises(Cancelled):
        part.update(0.6)
    with pytest.raises(Cancelled):
        part.check()
