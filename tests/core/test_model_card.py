"""The model card is written from a real evaluation report of that model."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.classifier import build_classifier
from core.evaluation.run import main as evaluate_main
from core.gate import GaussianGate
from core.model_card import write_card
from core.model_store import load_model_dir, save_model_dir


def test_card_carries_the_reports_figures(tmp_path):
    from PIL import Image

    from core import CLASSES
    from core.data import index_dataset, make_split, write_split

    rng = np.random.default_rng(0)
    for c, name in enumerate(CLASSES):
        d = tmp_path / "data" / "train" / name
        d.mkdir(parents=True)
        for pid in range(4):
            img = rng.uniform(0, 80, (36, 36))
            img[4 + 7 * c: 9 + 7 * c] += 150
            Image.fromarray(img.astype(np.uint8)).save(d / f"{name}-{10 * c + pid}-1.png")
    split = make_split(index_dataset(tmp_path / "data"), ratios=(2, 1, 1))
    write_split(split, tmp_path / "split.json")
    torch.manual_seed(0)
    model = build_classifier().eval()
    with torch.no_grad():
        z = model.features(torch.rand(40, 3, 32, 32)).double().numpy()
    gate = GaussianGate(covariance_type="lw").fit(z, np.arange(40) % 4).calibrate(z, np.arange(40) % 4)
    mdir = tmp_path / "model"
    save_model_dir(mdir, model, {"name": "card-test", "method": "ssat", "input_size": 32,
                                 "recipe": {"batch_size": 8, "lr": 0.01, "ssat_lambda": 5,
                                            "pseudo_labels": "teacher"},
                                 "trained_on": {"labeled": 8, "unlabeled": 4, "calib": 4}}, gate)
    args = SimpleNamespace(models=[str(mdir)], data=str(tmp_path / "data"), split=str(tmp_path / "split.json"),
                           out=str(tmp_path / "report"), audit=False, attacks=["fgsm", "pgd"], eps=[0.0, 0.01],
                           table_eps=[0.01], pgd_steps=2, cw_c=[1.0], cw_steps=2, cw_lr=0.01, gate_weight=1.0,
                           r_cln_prd=1.0, r_cln_uad=1.0, r_adv_prd=1.0, limit=None, n_boot=50, tsne=False,
                           seed=0, batch_size=16, device="cpu", quiet=True)
    assert evaluate_main(args) == 0
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    card = write_card(mdir, tmp_path / "report" / "report.json", ["octguard evaluate ..."]).read_text()
    acc = report["models"][0]["clean"]["accuracy"]["value"]
    assert "not for clinical use" in card.lower()
    assert f"{100 * acc:.1f}%" in card
    # the card and report.md print a metric and its interval the same way
    from core.evaluation.tables import num, pct
    m = report["models"][0]
    assert f"**{pct(m['clean']['accuracy'])}**" in card and "[" in pct(m["clean"]["accuracy"])
    pgd = next(a for a in m["all_attacks"] if a["attack"] == "pgd")
    assert f"| {num(pgd['r_f'])} | {num(pgd['r_fg'])} |" in card
    assert f"{pct(m['clean']['accuracy'])}" in (tmp_path / "report" / "report.md").read_text()
    assert "PGD" in card and "FGSM" in card and "octguard evaluate ..." in card
    load_model_dir(mdir, device="cpu")  # the manifest was rewritten, so it still loads
    other = json.loads(json.dumps(report))
    other["models"][0]["model"]["weights_sha256"] = "0" * 64
    (tmp_path / "other.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match="does not contain this model"):
        write_card(mdir, tmp_path / "other.json", ["x"])


def test_committed_reports_still_read_render_and_draw(tmp_path):
    """Every report.json under docs/results reads as typed rows and draws its
    figures; the current pool-test reports render to their committed
    report.md byte for byte, and the shipped models' cards render from them."""
    from pathlib import Path

    from core.evaluation.figures import write_figures
    from core.evaluation.report_data import Report
    from core.evaluation.report_markdown import markdown
    from core.model_card import render

    root = Path(__file__).resolve().parents[2]
    reports = sorted((root / "docs" / "results").glob("*/report.json"))
    assert len(reports) >= 2
    for path in reports:
        r = json.loads(path.read_text())
        assert Report.of(r).models and "## Table 2" in markdown(r)
        figures = write_figures(r, tmp_path / path.parent.name)
        assert set(figures) <= set(r["figures"]) | {"figure1_coordinates"} and "figure4" in figures
    for name in ("pool-test", "pool-test-unseen"):
        d = root / "docs" / "results" / name
        assert markdown(json.loads((d / "report.json").read_text())) == (d / "report.md").read_text()
    test = json.loads((root / "docs/results/pool-test/report.json").read_text())
    for model in ("default", "nt"):
        card = render(root / "models" / model, test, ["octguard evaluate ..."])
        assert "Results on the split's test part" in card and "% [" in card
