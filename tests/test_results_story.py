"""The AE-against-VAE story is generated from the numbers: verdicts follow the seeds' ranges, the README and
RESULTS.md say what RESULTS.json and SEEDS.json hold, and the per-model summary for the pages reads the same files."""

from __future__ import annotations

import json

import pytest

from vae import evaluate, report, seeds
from vae.evaluate import sampler_summary, summary_for
from vae.metrics import MetricError


def _measures(holes: float, jac: float, changes: float, sampler_keys=("N(0, I)",)) -> dict:
    scores = {"holes": holes, "precision": 1 - holes, "recall": 0.5, "density": 1.0, "coverage": 0.6,
              "class_tv": 0.05, "confident": 0.8, "label_entropy_bits": 3.2, "fid": 100.0,
              "label_histogram": [0.1] * 10}
    return {"sampling": {s: dict(scores) for s in sampler_keys},
            "continuity": {"jacobian_whitened_median": jac, "jacobian_spikiness": 2.0, "max_step_share": 0.15,
                           "excess_label_changes": changes, "label_changes": changes + 1, "path_ratio": 2.0,
                           "jacobian_norm": 10.0, "label_changes_min": 1.0}}


def _seeds_json(ae_holes, vae_holes, ae_changes=(1.0, 1.2, 1.1), vae_changes=(1.1, 1.0, 1.3)) -> dict:
    ae_s = ("N(0, I)", "fitted Gaussian", "GMM-10")
    return {"settings": {"draws": 100, "pairs": 10, "steps": 10, "seeds": [0, 1, 2]},
            "pairs": {"20-D": {
                "ae-z20": {"seeds": {str(i): _measures(h, 9.0 + i, c, ae_s) for i, (h, c) in
                                     enumerate(zip(ae_holes, ae_changes))}, "missing": []},
                "vae-z20": {"seeds": {str(i): _measures(h, 9.5 + i, c) for i, (h, c) in
                                      enumerate(zip(vae_holes, vae_changes))}, "missing": []}}}}


def test_spread_and_verdicts_follow_the_ranges():
    s = seeds.spread([0.9, 0.95, 0.92])
    assert s["mean"] == pytest.approx(0.9233, abs=1e-4) and (s["min"], s["max"], s["n"]) == (0.9, 0.95, 3)
    with pytest.raises(ValueError, match="empty"):
        seeds.spread([])
    apart = report.verdict(seeds.spread([0.9, 0.95]), seeds.spread([0.2, 0.3]), "lower")
    assert apart == (True, "VAE")
    assert report.verdict(seeds.spread([0.9, 0.95]), seeds.spread([0.2, 0.3]), "higher") == (True, "AE")
    assert report.verdict(seeds.spread([0.2, 0.5]), seeds.spread([0.3, 0.4]), "lower") == (False, None)
    assert report.verdict(seeds.spread([0.9]), seeds.spread([0.1]), "lower") == (False, None), \
        "one seed has no spread: nothing is called apart"


def test_story_says_which_measures_separate_and_why_others_do_not():
    data = _seeds_json(ae_holes=(0.9, 0.93, 0.95), vae_holes=(0.30, 0.35, 0.33))
    summary = seeds.summarise(data)
    lines = report.story(summary, {})
    text = "\n".join(lines)
    assert "92.7% (90.0%\u201395.0%) of the AE's and 32.7% (30.0%\u201335.0%) of the VAE's" in text
    assert "the ranges are apart, the VAE has fewer" in text
    # label changes overlap -> said not to separate, with the 20-D reason
    assert "label changes above the minimum 1.10 (1.00\u20131.20) vs 1.13 (1.00\u20131.30); path ratio" in text
    assert "Why: paths " \
           "between test codes stay where both models were trained" in text
    # swap the holes: the story turns with the numbers
    flipped = "\n".join(report.story(seeds.summarise(_seeds_json((0.30, 0.35, 0.33), (0.9, 0.93, 0.95))), {}))
    assert "the ranges are apart, the AE has fewer" in flipped
    overlapping = "\n".join(report.story(seeds.summarise(_seeds_json((0.3, 0.5, 0.4), (0.35, 0.45, 0.4))), {}))
    assert "this does not separate them (the ranges over the seeds overlap" in overlapping
    table = "\n".join(report.seed_tables(summary, data))
    assert "| holes (1 - precision) | 92.7% (90.0%\u201395.0%) |" in table and "| apart: VAE better |" in table


def test_readme_markers_round_trip(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{evaluate.README_START}\nold words\n{evaluate.README_END}\noutro\n")
    assert evaluate.update_readme("new words", readme)
    assert evaluate.readme_section(readme) == "new words"
    assert readme.read_text().startswith("intro\n") and readme.read_text().endswith("\noutro\n")
    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert not evaluate.update_readme("x", plain) and plain.read_text() == "no markers\n"


def test_summary_for_reads_the_figures_and_refuses_what_does_not_apply(tmp_path):
    data = _seeds_json((0.9, 0.93, 0.95), (0.30, 0.35, 0.33))
    results = {"models": {"ae-z20": {"kind": "ae", "latent_dim": 20, "beta": None, **data["pairs"]["20-D"]["ae-z20"]
                                     ["seeds"]["0"]},
                          "vae-z20": {"kind": "vae", "latent_dim": 20, "beta": 1.0,
                                      **data["pairs"]["20-D"]["vae-z20"]["seeds"]["0"]}}}
    (tmp_path / "RESULTS.json").write_text(json.dumps(results))
    (tmp_path / "SEEDS.json").write_text(json.dumps(data))
    paths = {"results_path": tmp_path / "RESULTS.json", "seeds_path": tmp_path / "SEEDS.json"}
    s = summary_for("ae-z20", **paths)
    assert s["pair"] == "20-D" and s["sampling"]["N(0, I)"]["holes"] == 0.9
    assert s["seeds"]["N(0, I)/holes"]["max"] == 0.95 and s["seeds"]["N(0, I)/holes"]["n"] == 3
    assert sampler_summary("ae-z20", "GMM-10", **paths)["holes"] == 0.9
    with pytest.raises(MetricError, match="a VAE is sampled from its prior"):
        sampler_summary("vae-z20", "GMM-10", **paths)
    with pytest.raises(MetricError, match="measured models: ae-z20, vae-z20"):
        summary_for("nope", **paths)
    with pytest.raises(MetricError, match="run `python -m vae.evaluate`"):
        summary_for("ae-z20", results_path=tmp_path / "missing.json")


@pytest.mark.slow
def test_readme_and_results_say_what_the_json_files_hold():
    """Regenerating the story from the shipped RESULTS.json and SEEDS.json gives the README's summary and the
    RESULTS.md reading word for word: neither can be edited by hand or drift from the numbers."""
    from vae.checkpoint import available

    payload = json.loads(evaluate.RESULTS_JSON.read_text())
    results = list(payload["models"].values())
    assert set(payload["models"]) == set(available()) - {evaluate.JUDGE}, "RESULTS.json covers every checkpoint"
    seeds_json = seeds.load()
    assert evaluate.readme_section() == evaluate.readme_block(results, seeds_json)
    text = evaluate.RESULTS.read_text()
    summary, _ = evaluate.story_summary(results, seeds_json)
    for line in report.story(summary, {r["name"]: r for r in results}):
        assert line in text
    for name, r in payload["models"].items():
        assert f"| `{name}` | `{r['weights_sha256']}` |" in text


def test_story_says_why_when_the_ae_leads_on_continuity_in_20d():
    """Label changes apart with the AE ahead (fewer changes): the story names the measure and says why, with the gap
    from the numbers; with the VAE ahead no such sentence appears."""
    ae_ahead = _seeds_json((0.9, 0.93, 0.95), (0.30, 0.35, 0.33), ae_changes=(0.30, 0.32, 0.34),
                           vae_changes=(0.40, 0.42, 0.44))
    text = "\n".join(report.story(seeds.summarise(ae_ahead), {}))
    assert "label changes above the minimum 0.32 (0.30\u20130.34) vs 0.42 (0.40\u20130.44) (AE smoother)" in text
    assert "Why the AE leads on label changes above the minimum: these paths run between codes of test digits" in text
    assert "the gaps are at most 24% of the value" in text  # (0.42 - 0.32) / 0.42
    vae_ahead = _seeds_json((0.9, 0.93, 0.95), (0.30, 0.35, 0.33), ae_changes=(0.40, 0.42, 0.44),
                            vae_changes=(0.30, 0.32, 0.34))
    assert "Why the AE leads" not in "\n".join(report.story(seeds.summarise(vae_ahead), {}))


def test_story_says_what_a_fitted_gmm_gives_the_ae():
    """The AE's GMM-10 draws against the VAE's N(0, I) draws: "match or beat" only when both coverage and the
    judge-confident share are at least the VAE's, "even ... less" otherwise; nothing when the GMM was not measured."""
    data = _seeds_json((0.9, 0.93, 0.95), (0.30, 0.35, 0.33))
    summary = seeds.summarise(data)
    text = "\n".join(report.story(summary, {}))  # the same scores for every sampler: a tie counts as "match"
    assert ("the AE's images match or beat the VAE's (coverage 60.0% (60.0%\u201360.0%) vs 60.0% (60.0%\u201360.0%); "
            "judge-confident 80.0% (80.0%\u201380.0%) vs 80.0%") in text
    for sd in data["pairs"]["20-D"]["ae-z20"]["seeds"].values():
        sd["sampling"]["GMM-10"]["coverage"] = 0.2
    text = "\n".join(report.story(seeds.summarise(data), {}))
    assert "Even drawn from a GMM-10 fitted to its codes, the AE's images reach less" in text
    assert "coverage 20.0% (20.0%\u201320.0%) vs 60.0%" in text
    for sd in data["pairs"]["20-D"]["ae-z20"]["seeds"].values():
        del sd["sampling"]["GMM-10"]
    assert "GMM-10 fitted to its codes" not in "\n".join(report.story(seeds.summarise(data), {}))
