"""The benchmark suite runs end to end on tiny settings and writes a JSON and
a Markdown table of the promised shape. Timings themselves are never
asserted: figures go to bench/results, not into tests."""
import json

import pytest

from bench.__main__ import main
from bench.timing import rate, summarize


def test_summary_statistics_and_rates():
    s = summarize([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (3.0, 1.0, 5.0, 5)
    assert s["p25"] == 2.0 and s["p75"] == 4.0
    r = rate(s, 10)      # seconds per call -> items per second: the ends swap
    assert r["median"] == pytest.approx(10 / 3) and r["p25"] == pytest.approx(2.5)
    assert r["p75"] == pytest.approx(5.0) and r["max"] == pytest.approx(10.0)


def test_quick_run_writes_json_and_markdown(tmp_path, capsys):
    rc = main(["--quick", "--repeat", "1", "--out", str(tmp_path), "--name", "testbox",
               "--only", "load", "--only", "gate", "--only", "attacks"])
    assert rc == 0
    (js,) = tmp_path.glob("testbox-*-quick.json")
    (md,) = tmp_path.glob("testbox-*-quick.md")
    result = json.loads(js.read_text())
    m = result["machine"]
    for key in ("cpu", "logical_cores", "torch", "device", "load_average_start", "load_average_end"):
        assert m[key] is not None, key
    assert result["errors"] == {} and result["settings"]["cases"] == ["load", "gate", "attacks"]
    cases = {r["case"] for r in result["rows"]}
    assert cases == {"load", "gate", "attacks"}
    for r in result["rows"]:
        v = r["value"]
        assert v["min"] <= v["p25"] <= v["median"] <= v["p75"] <= v["max"]
        if r["reference"] is not None:
            assert r["ratio"] == pytest.approx(v["median"] / r["reference"]["median"])
    attacks = [r for r in result["rows"] if r["case"] == "attacks" and "identical" in r]
    assert {r["name"].split()[0] for r in attacks} == {"FGSM", "PGD-10"}
    assert all(r["identical"] for r in attacks)   # same settings, same seed: same images
    table = [line for line in md.read_text().splitlines() if line.startswith("| ")]
    assert table[0].startswith("| figure | ours | reference | ratio | target |")
    assert len(table) == 1 + len(result["rows"])
    assert md.read_text() in capsys.readouterr().out   # the table is printed


def test_unknown_case_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        main(["--quick", "--only", "nonsense", "--out", str(tmp_path)])


def test_worst_row_is_the_one_furthest_from_its_target():
    from bench.context import row
    from bench.suite import worst_row
    s = lambda m: summarize([m])   # noqa: E731
    rows = [row("a", "time, 1.5x its reference", s(1.5), "ms", ref=s(1.0), target=1.2),
            row("b", "throughput at half its reference", s(5.0), "/s", ref=s(10.0),
                higher_is_better=True, target=0.8),
            row("c", "no target", s(9.0), "ms", ref=s(1.0))]
    assert [r["met"] for r in rows] == [False, False, None]
    assert worst_row(rows)["case"] == "b"     # 0.8 / 0.5 = 1.6 beats 1.5 / 1.2 = 1.25
