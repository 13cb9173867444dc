"""`octguard evaluate` end to end on tiny models and a tiny synthetic dataset."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from core import CLASSES
from core.classifier import build_classifier
from core.cli import main as cli_main
from core.data import index_dataset, make_split, write_split
from core.gate import GaussianGate
from core.model_store import save_model_dir
from core.batches import as_float, decode_items

PATIENTS_PER_CLASS, IMAGES_PER_PATIENT = 12, 2


def _scan(rng: np.random.Generator, label: int) -> np.ndarray:
    """A 64x64 'B-scan': a bright band whose height depends on the class,
    plus speckle, kept inside (0, 1) so FGSM never clamps."""
    img = rng.uniform(0.15, 0.35, (64, 64))
    top = 12 + 10 * label
    img[top:top + 8] += 0.4
    return np.clip(img, 0.05, 0.95)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("oct")
    rng = np.random.default_rng(0)
    for label, cls in enumerate(CLASSES):
        for part, n_pat, base in (("train", PATIENTS_PER_CLASS, 1000), ("audit", 1, 9000)):
            d = root / part / cls
            d.mkdir(parents=True)
            for p in range(n_pat):
                for k in range(IMAGES_PER_PATIENT):
                    arr = (_scan(rng, label) * 255).astype(np.uint8)
                    Image.fromarray(arr).save(d / f"{cls}-{base + 100 * label + p}-{k + 1}.png")
    items = index_dataset(root)
    split = make_split(items, seed=0, source=str(root))
    write_split(split, root / "split.json")
    return root, split


def _model_dir(path, items, size: int, seed: int):
    torch.manual_seed(seed)
    model = build_classifier(in_channels=1).eval()
    u8, y = decode_items(items, size)
    with torch.no_grad():
        z = model.features(as_float(u8, 1, "cpu")).double().numpy()
        pred = model(as_float(u8, 1, "cpu")).argmax(1).numpy()
    gate = GaussianGate(covariance_type="diag", reg_covar=1e-2, rejection_rate=0.1).fit(z, y.numpy())
    gate.calibrate(z, pred)
    save_model_dir(path, model, {"name": path.name, "method": "nt", "input_size": size}, gate)
    return path


@pytest.fixture(scope="module")
def models(dataset, tmp_path_factory):
    root, split = dataset
    by_rel = {i.rel: i for i in index_dataset(root)}
    train = [by_rel[r] for r in split["parts"]["labeled"]]
    base = tmp_path_factory.mktemp("models")
    return [_model_dir(base / "nt32", train, 32, 0), _model_dir(base / "at40", train, 40, 1)]


def _evaluate(dataset, models, out, *extra) -> int:
    root, _ = dataset
    return cli_main(["evaluate", "--models", *map(str, models), "--data", str(root),
                     "--split", str(root / "split.json"), "--out", str(out), "--quiet",
                     "--n-boot", "50", "--batch-size", "16", *extra])


FAST = ["--eps", "0,0.01", "--table-eps", "0.01", "--pgd-steps", "2", "--cw-c", "1",
        "--cw-steps", "2", "--attacks", "fgsm,pgd,cw,adaptive"]


@pytest.fixture(scope="module")
def report(dataset, models, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert _evaluate(dataset, models, out, *FAST, "--limit", "3") == 0
    return out, json.loads((out / "report.json").read_text())


def test_report_structure_and_files(report, dataset):
    out, r = report
    root, split = dataset
    assert r["evaluated_on"] == "split test part" and not r["audit"]
    assert r["split"]["sha256"] and r["split"]["path"].endswith("split.json")
    assert r["machine"]["torch"] == torch.__version__ and r["wall_time_s"] > 0
    # --limit 3 per class, drawn from the test part only
    test_counts = split["counts"]["test"]
    assert r["data"]["per_class"] == {c: min(3, n) for c, n in test_counts.items() if n}
    assert [m["model"]["input_size"] for m in r["models"]] == [32, 40]
    for m in r["models"]:
        assert set(m) >= {"clean", "figure4", "table1", "table2", "adaptive", "model"}
        assert m["table1"]["eps"] == 0.01 and set(m["table1"]["gate"]["auprc"]) == set(CLASSES)
        assert len(m["table2"]) == 1 and len(m["adaptive"]) == 1
    for name in ("figure4_accuracy.png", "figure1_tsne.png", "table2_risk.png", "adaptive_risk.png"):
        with Image.open(out / name) as im:
            assert im.width > 300 and im.height > 200
            assert len(im.convert("L").getcolors(1 << 16)) > 10  # not a blank canvas
    md = (out / "report.md").read_text()
    for heading in ("Figure 4", "Table 1", "Table 2", "adaptive", "Figure 1", "Confusion matrix", "Paper figures"):
        assert heading in md
    assert r["split"]["sha256"] in md


def test_eps_zero_reproduces_clean_accuracy(report):
    _, r = report
    for m in r["models"]:
        clean = m["clean"]["accuracy"]["value"]
        by_eps = {p["eps"]: p for p in m["figure4"]["fgsm"]}
        assert by_eps[0.0]["accuracy"]["value"] == pytest.approx(clean)  # FGSM really ran at eps 0
        assert by_eps[0.0]["max_linf"] == 0.0
        assert m["figure4"]["pgd"][0]["eps"] == 0.0
        assert m["figure4"]["pgd"][0]["accuracy"]["value"] == pytest.approx(clean)


def test_attacks_run_at_each_models_own_input_size(report):
    """FGSM moves every pixel by eps (images stay inside (0, 1)), so its L2
    is eps * size: the 40 px model must have been attacked at 40 px."""
    _, r = report
    for m in r["models"]:
        p = next(p for p in m["figure4"]["fgsm"] if p["eps"] == 0.01)
        size = m["model"]["input_size"]
        assert p["max_linf"] == pytest.approx(0.01, rel=1e-4)
        assert p["mean_l2"] == pytest.approx(0.01 * size, rel=0.05)


def test_risk_counts_add_up(report):
    _, r = report
    for m in r["models"]:
        n_rej_clean = m["clean"]["gate"]["n_rejected"]
        for row in m["table2"] + m["adaptive"]:
            rk, g, n = row["risk"], row["gate"], row["n"]
            assert rk["n"] == n
            assert rk["R_f"] == rk["n_cln_inc_f"] + rk["n_adv_inc_f"]
            assert rk["R_fg"] == rk["n_cln_inc_fg"] + rk["n_cln_rej_g"] + rk["n_adv_inc_fg"]
            assert rk["n_cln_rej_g"] == n_rej_clean
            assert rk["n_adv_inc_f"] == row["n_success"]
            assert sum(g["categories"].values()) == n
            assert g["categories"]["accepted_wrong"] == rk["n_adv_inc_fg"]
            assert row["accuracy"]["value"] == pytest.approx(1 - row["n_success"] / n)
            assert sum(row["n_success_per_class"].values()) == row["n_success"]
            for key in ("accuracy", "r_f", "r_fg"):
                c = row[key]
                assert c["lo"] <= c["value"] + 1e-12 and c["value"] <= c["hi"] + 1e-12
            assert math.isclose(row["r_f"]["value"], rk["r_f"])


def test_audit_evaluates_only_the_held_out_rows(dataset, models, tmp_path):
    out = tmp_path / "audit"
    args = ["--attacks", "fgsm", "--eps", "0", "--no-tsne"]
    assert _evaluate(dataset, models[:1], out, *args, "--audit") == 0
    r = json.loads((out / "report.json").read_text())
    assert r["audit"] and r["evaluated_on"] == "final audit figures, evaluated once"
    assert r["data"]["n_images"] == len(CLASSES) * IMAGES_PER_PATIENT
    assert "Final audit figures, evaluated once" in (out / "report.md").read_text()
    # without --audit the same run sees the split's test part, never audit rows
    assert _evaluate(dataset, models[:1], tmp_path / "test", *args) == 0
    r2 = json.loads((tmp_path / "test" / "report.json").read_text())
    assert r2["data"]["n_images"] == len(dataset[1]["parts"]["test"])


def test_bad_inputs_give_a_message_not_a_traceback(dataset, models, tmp_path, capsys):
    assert _evaluate(dataset, [tmp_path / "no-model"], tmp_path / "o1") == 2
    assert "no model" in capsys.readouterr().err
    root, _ = dataset
    assert cli_main(["evaluate", "--models", str(models[0]), "--data", str(root), "--split",
                     str(tmp_path / "missing.json"), "--out", str(tmp_path / "o2")]) == 2
    assert not (tmp_path / "o2" / "report.json").exists()


def test_model_without_gate_reports_risk_without_gate_only(dataset, models, tmp_path):
    from core.model_store import load_model_dir
    lm = load_model_dir(models[0], device="cpu", trainable=True)   # weights to save again
    bare = tmp_path / "bare"
    save_model_dir(bare, lm.model, {"name": "bare", "method": "nt", "input_size": 32})
    assert _evaluate(dataset, [bare], tmp_path / "out", "--attacks", "pgd,adaptive", "--eps", "0.01",
                     "--table-eps", "0.01", "--pgd-steps", "1", "--limit", "1", "--no-tsne") == 0
    m = json.loads((tmp_path / "out" / "report.json").read_text())["models"][0]
    assert m["clean"]["gate"] is None and m["adaptive"] == [] and any("no gate" in n for n in m["notes"])
    row = m["table2"][0]
    assert row["gate"] is None and row["risk"]["r_fg"] is None
    assert row["risk"]["R_f"] == row["risk"]["n_cln_inc_f"] + row["n_success"]


def test_file_level_rows_beside_the_tensor_level_rows(dataset, models, tmp_path):
    """--file-pgd-levels adds 8-bit PGD on the scan files at native resolution
    (64 px PNGs through the model's 32 px resize): accuracy, risk with and
    without the gate and AUPRC, per budget in whole grey levels."""
    assert _evaluate(dataset, models[:1], tmp_path, "--attacks", "pgd", "--eps", "0.01", "--table-eps",
                     "0.01", "--pgd-steps", "2", "--file-pgd-levels", "2,3", "--limit", "2", "--no-tsne") == 0
    r = json.loads((tmp_path / "report.json").read_text())
    assert r["settings"]["file_pgd_levels"] == [2, 3]
    m = r["models"][0]
    fl = m["file_level"]
    assert fl["n"] == r["data"]["n_images"] and fl["shapes"] == ["64x64"]
    assert [row["grey_levels"] for row in fl["rows"]] == [2, 3]
    n_rej_clean = None
    for row, levels in zip(fl["rows"], (2, 3)):
        assert row["attack"] == "pgd-file-8bit" and row["eps"] == pytest.approx(levels / 255)
        assert 1 <= row["max_linf_grey_levels"] <= levels            # whole levels, within the budget
        rk = row["risk"]
        assert rk["R_fg"] == rk["n_cln_inc_fg"] + rk["n_cln_rej_g"] + rk["n_adv_inc_fg"]
        assert n_rej_clean in (None, rk["n_cln_rej_g"])               # one clean pass for both rows
        n_rej_clean = rk["n_cln_rej_g"]
        assert row["r_f"]["value"] is not None and row["r_fg"]["value"] is not None
        assert row["gate"]["auprc_average"] is None or 0 <= row["gate"]["auprc_average"] <= 1
    assert [a["attack"] for a in m["all_attacks"]].count("pgd-file-8bit") == 2
    md = (tmp_path / "report.md").read_text()
    assert "File-level threat" in md and md.count("| nt32 | 0.0") >= 2


def _has_colour(im, hex_colour: str, tol: int = 12, at_least: int = 50) -> bool:
    px = np.asarray(im.convert("RGB")).astype(int)
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(px - rgb).max(-1) <= tol).sum()) >= at_least


def test_figures_redraw_from_report_json_in_each_models_colour(report, tmp_path):
    """`python -m core.evaluation.figures` draws the same figures from
    report.json (and the saved t-SNE points) alone, at paper resolution, each
    model in its own colour in every figure."""
    from core.evaluation.figures import main as figures_main
    from core.evaluation.plot_style import DPI, model_colour

    out, r = report
    assert figures_main([str(out / "report.json"), "--out", str(tmp_path), "--pdf"]) == 0
    assert r["figures"] == {"figure4": "figure4_accuracy.png", "table2": "table2_risk.png",
                            "adaptive": "adaptive_risk.png", "figure1": "figure1_tsne.png",
                            "figure1_coordinates": "figure1_tsne.json"}
    for key in ("figure4", "table2", "adaptive", "figure1"):
        name = r["figures"][key]
        assert (tmp_path / name).with_suffix(".pdf").stat().st_size > 1000
        with Image.open(tmp_path / name) as im:
            assert im.info["dpi"][0] == pytest.approx(DPI, abs=1) and DPI >= 150
            assert im.width > 600 and im.height > 400
            if key != "figure1":  # t-SNE is coloured by class, not by model
                assert all(_has_colour(im, model_colour(i)) for i in range(len(r["models"])))
    with Image.open(out / "figure4_accuracy.png") as a, Image.open(tmp_path / "figure4_accuracy.png") as b:
        assert a.size == b.size  # the evaluation drew the same figure


def test_tables_render_each_metric_with_its_interval():
    from core.evaluation.tables import Estimate, num, pct, table

    assert pct({"value": 0.8712, "lo": 0.8133, "hi": 0.9204}) == "87.1% [81.3, 92.0]"
    assert pct(Estimate(0.5, None, 0.75)) == "50.0% [?, 75.0]"
    assert num(Estimate(0.40167, 0.31, 0.4871)) == "0.402 [0.310, 0.487]"
    assert pct(None) == num({"value": None, "lo": None, "hi": None}) == "n/a"
    assert table(["a", "b"], [["1", "2"]]) == ["| a | b |", "|---|---|", "| 1 | 2 |", ""]


def test_report_md_tables_show_the_intervals_of_report_json(report):
    from core.evaluation.report_data import Report
    from core.evaluation.tables import num, pct

    out, r = report
    md = (out / "report.md").read_text()
    typed = Report.of(r)
    for m in typed.models:
        assert f"| {m.name} | {pct(m.clean_accuracy)} |" in md
        for row in m.table2 + m.adaptive:
            assert f"| {m.name} | {row.eps:g} | {num(row.r_f)} | {num(row.r_fg)} | {pct(row.accuracy)} |" in md
        assert "[" in num(m.table2[0].r_f)


def test_report_md_names_two_models_of_one_name_by_their_folders(report):
    """One model with two gates (the shipped one and the paper's) shares a
    name; every table must still say which row is which."""
    import copy

    from core.evaluation.report_markdown import markdown

    _, r = report
    twin = copy.deepcopy(r)
    first = twin["models"][0]
    second = copy.deepcopy(first)
    first["model"]["directory"], second["model"]["directory"] = "runs/m-uad", "runs/m-gmm"
    twin["models"] = [first, second]
    name = first["model"]["name"]
    md = markdown(twin)
    assert f"| {name} (m-uad) |" in md and f"| {name} (m-gmm) |" in md
    assert f"| {name} |" not in md


def test_learning_curve_figure_and_points_from_reports(report, tmp_path, capsys):
    from core.evaluation.learning_curve import main as curve_main

    out, r = report
    paths = []
    for n in (8, 16, 32):
        rr = json.loads(json.dumps(r))
        rr["models"][0]["model"]["trained_on"] = {"labeled": n}
        paths.append(tmp_path / f"r{n}.json")
        paths[-1].write_text(json.dumps(rr))
    assert curve_main([*map(str, paths), "--eps", "0.01", "--out", str(tmp_path / "lc")]) == 0
    c = json.loads((tmp_path / "lc" / "learning_curve.json").read_text())
    acc = r["models"][0]["clean"]["accuracy"]
    s = c["series"]["clean accuracy"]
    assert c["n"] == [8, 16, 32] and s["values"] == [acc["value"]] * 3 and s["lo"] == [acc["lo"]] * 3
    with Image.open(tmp_path / "lc" / "learning_curve.png") as im:
        assert im.width > 600 and len(im.convert("L").getcolors(1 << 16)) > 10
    assert "clean accuracy" in capsys.readouterr().out


@pytest.mark.slow
def test_default_grid_end_to_end(dataset, models, tmp_path):
    """The default eps grid, table budgets and C&W grid, shortened steps."""
    assert _evaluate(dataset, models, tmp_path, "--cw-steps", "5", "--pgd-steps", "3", "--limit", "2") == 0
    r = json.loads((tmp_path / "report.json").read_text())
    for m in r["models"]:
        assert [p["eps"] for p in m["figure4"]["pgd"]] == [0, 0.001, 0.0025, 0.005, 0.01, 0.02]
        assert [p["c"] for p in m["figure4"]["cw"]] == [0.01, 0.1, 1, 10]
        assert [row["eps"] for row in m["table2"]] == [0.005, 0.01]


def test_learning_curve_fits_the_error_power_law_and_refuses_to_extrapolate_a_flat_one():
    from core.evaluation.learning_curve import fit_power_law, predict

    n = np.array([250, 500, 1000])
    err = 0.4 * n ** -0.3
    fit = fit_power_law(n, 1 - err)
    assert fit == pytest.approx((0.4, 0.3), rel=1e-6)
    assert predict(fit, 4000) == pytest.approx(1 - 0.4 * 4000 ** -0.3)
    assert fit_power_law(n, [0.9, 0.9, 0.9]) is None       # nothing learned from more data
    assert fit_power_law(n[:1], [0.8]) is None              # one point is no curve


def test_evaluate_flags_are_generated_from_the_config_and_keep_their_names_and_defaults():
    import argparse
    from dataclasses import fields

    from core.evaluation.config import EvalConfig, config_from_args
    from core.evaluation.options import add_evaluate_args

    p = argparse.ArgumentParser()
    add_evaluate_args(p)
    got = {a.option_strings[0]: a.default for a in p._actions if a.option_strings and a.dest != "help"}
    assert got == {
        "--models": None, "--data": None, "--split": None, "--out": None, "--audit": False,
        "--attacks": ["fgsm", "pgd", "cw", "adaptive"], "--eps": [0.0, 0.001, 0.0025, 0.005, 0.01, 0.02],
        "--table-eps": [0.005, 0.01], "--pgd-steps": 10, "--cw-c": [0.01, 0.1, 1.0, 10.0], "--cw-steps": 100,
        "--cw-lr": 0.01, "--gate-weight": 1.0, "--file-pgd-levels": [], "--r-cln-prd": 1.0, "--r-cln-uad": 1.0,
        "--r-adv-prd": 1.0, "--limit": None, "--n-boot": 1000, "--no-tsne": True, "--seed": 0,
        "--batch-size": 32, "--device": "auto", "--quiet": False}
    a = p.parse_args(["--models", "m1", "m2", "--data", "d", "--split", "s", "--out", "o", "--eps", "0.01,0,0.01",
                      "--file-pgd-levels", "2,3", "--no-tsne", "--attacks", "PGD,cw"])
    cfg = config_from_args(a)
    assert a.models == ["m1", "m2"] and cfg.eps == [0.0, 0.01] and cfg.file_levels == [2, 3]
    assert not cfg.tsne and cfg.attacks == ["pgd", "cw"]
    # parsing no flags of the protocol gives the config's own defaults
    default = config_from_args(p.parse_args(["--models", "m", "--data", "d", "--split", "s", "--out", "o"]))
    assert all(getattr(default, f.name) == getattr(EvalConfig(), f.name) for f in fields(EvalConfig))
    with pytest.raises(SystemExit):
        p.parse_args(["--models", "m", "--data", "d", "--split", "s", "--out", "o", "--attacks", "nope"])
