"""Compute every metric for every shipped checkpoint and write checkpoints/RESULTS.md.

    python -m vae.evaluate [--draws 10000] [--pairs 1000] [--steps 10] [--iwae-k 50] [--iwae-n 2000]

Completeness (judge-confident share and label entropy of prior draws, and an internal FID), continuity (path ratio,
largest step, decoder Jacobian norm), and likelihood and latent usage (-ELBO from the manifest, an IWAE bound, KL per
dimension, active units). The plain AE is sampled three ways: N(0, I), a Gaussian fitted to its training codes, and
a 10-component GMM fitted to them (Ghosh et al. 2020). The Gaussian on pixels (vae.gaussian) is the baseline: it is
a sampler, so it gets the completeness figures; the other measures need an encoder or a likelihood of the 8-bit
images and show "—". RESULTS.md records each checkpoint's weights hash, so a test can tell when the table is stale.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import data as data_mod
from . import gaussian, latent, registry, report, seeds
from .checkpoint import CHECKPOINT_DIR, CheckpointError, available, load_checkpoint, read_manifest
from .metrics import (GMM, MAX_DRAWS, PRDC_K, PRDC_N, MetricError, RealSet, active_units, continuity_measures, image_scores,
                      kl_per_dimension, real_set, sampler_scores, test_set_iwae)

RESULTS = CHECKPOINT_DIR / "RESULTS.md"
JUDGE = "judge"
SAMPLE_SEED = gaussian.SAMPLE_SEED  # 2024; the pixel Gaussian's manifest rates its draws with the same seed
NA = "\u2014"  # a column that does not apply to the model; each table says why below it
GAUSSIAN_SAMPLER = "x = L z + \u03bc, clipped to [0, 1]"
PRIOR, FITTED, GMM10 = "N(0, I)", "fitted Gaussian", "GMM-10"  # the samplers' names in every table and JSON file
JACOBIAN_POINTS = 1000  # points of the codes' region where the decoder's Jacobian is measured
RESULTS_JSON = CHECKPOINT_DIR / "RESULTS.json"  # every figure of RESULTS.md, for the app (summary_for below)


def samplers_for(model, kind: str, latent_dim: int, mnist: data_mod.Mnist, draws: int) -> dict[str, np.ndarray]:
    """The codes each sampler draws for a model (seed SAMPLE_SEED): N(0, I) for every model; for a plain AE also a
    Gaussian and a 10-component GMM fitted to its training codes (Ghosh et al. 2020)."""
    samplers = {PRIOR: latent.sample_codes(draws, latent_dim, SAMPLE_SEED, limit=MAX_DRAWS)}
    if not registry.family(kind).has_prior:  # a plain AE: fitted samplers too
        train_mu = latent.encode_images(model, mnist.x_train).mu
        gauss = latent.fit_gaussian(train_mu)
        samplers[FITTED] = latent.sample_codes(draws, latent_dim, SAMPLE_SEED, gauss, limit=MAX_DRAWS)
        samplers[GMM10] = GMM(10, seed=0).fit(train_mu).sample(draws, SAMPLE_SEED)
    return samplers


def fair_measures(model, kind: str, latent_dim: int, judge, mnist: data_mod.Mnist, real: RealSet, draws: int,
                  pairs: int, steps: int, mu: np.ndarray | None = None) -> dict:
    """The measures that compare an AE with a VAE whatever scale each gave its codes: per sampler the judge-space
    completeness figures (`metrics.sampler_scores`), and the continuity figures (`metrics.continuity_measures`) at the
    test codes `mu` (encoded here when not given)."""
    if mu is None:
        mu = latent.encode_images(model, mnist.x_test).mu
    sampling = {s: sampler_scores(model, judge, z, real)
                for s, z in samplers_for(model, kind, latent_dim, mnist, draws).items()}
    return {"sampling": sampling,
            "continuity": continuity_measures(model, judge, mu, points=JACOBIAN_POINTS, pairs=pairs, steps=steps)}


def evaluate_checkpoint(name: str, judge, mnist: data_mod.Mnist, real: RealSet, draws: int, pairs: int,
                        steps: int, iwae_k: int, iwae_n: int) -> dict:
    """All metrics of one AE/VAE checkpoint, as a JSON-able dict."""
    ckpt = load_checkpoint(name)
    model, cfg, m = ckpt.model, ckpt.config, ckpt.manifest
    t0 = time.perf_counter()
    enc = latent.encode_images(model, mnist.x_test)
    mu = enc.mu
    result = {
        "name": name, "kind": cfg.kind, "latent_dim": cfg.latent_dim, "beta": m["training"].get("beta"),
        "weights_sha256": m["weights_sha256"], "test_metrics": m["test_metrics"],
        **fair_measures(model, cfg.kind, cfg.latent_dim, judge, mnist, real, draws, pairs, steps, mu),
    }
    if registry.posterior(cfg.kind):
        x = torch.from_numpy(data_mod.to_float(mnist.x_test[:iwae_n])).unsqueeze(1)
        kl = kl_per_dimension(mu, enc.logvar)
        result["likelihood"] = {"iwae_k": iwae_k, "iwae_images": iwae_n,
                                "log_px_bound": test_set_iwae(model, x, iwae_k)}
        result["latent_usage"] = {"kl_per_dim": kl.round(4).tolist(), "active_units": int(active_units(mu).sum())}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def evaluate_gaussian(name: str, judge, mnist: data_mod.Mnist, real: RealSet, draws: int) -> dict:
    """The pixel Gaussian's figures: the judge-space scores of `draws` samples (the same seed as the decoders'
    draws) and, for the footnote, the test images' mean log-density."""
    ckpt = load_checkpoint(name)
    t0 = time.perf_counter()
    score = image_scores(judge, gaussian.sample(ckpt.model, draws, SAMPLE_SEED), real)
    return {"name": name, "kind": gaussian.GAUSSIAN_KIND, "latent_dim": ckpt.model.config.dim, "beta": None,
            "weights_sha256": ckpt.manifest["weights_sha256"], "jitter": ckpt.model.config.jitter,
            "log_density_nats": gaussian.mean_log_density(ckpt.model, mnist.x_test),
            "sampling": {GAUSSIAN_SAMPLER: score}, "seconds": round(time.perf_counter() - t0, 1)}


def _kind(manifest: dict) -> str | None:
    model = manifest["model"]
    return model.get("kind") if isinstance(model, dict) else None


def _beta(r: dict) -> str:
    if r["kind"] == gaussian.GAUSSIAN_KIND:
        return NA
    return _f(r["beta"], 1) if registry.posterior(r["kind"]) else "-"


def _f(v, digits=2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def render(results: list[dict], judge_manifest: dict, args: argparse.Namespace, seconds: float,
           seeds_json: dict | None = None, load_average: tuple[float, ...] = ()) -> str:
    lines = [
        "# Results", "",
        "Generated by `python -m vae.evaluate` from the shipped checkpoints; do not edit by hand. A test fails when a "
        "checkpoint's weights no longer match the hashes listed at the end.", "",
        f"Judge: `checkpoints/judge`, a small CNN trained by `{judge_manifest['command']}`, test accuracy "
        f"{judge_manifest['test_metrics']['accuracy'] * 100:.2f}%. It only judges decoded images.", "",
        "## Completeness: what prior draws decode to", "",
        f"{args.draws:,} draws per sampler (seed {SAMPLE_SEED}). *Confident*: share the judge classifies with max "
        "probability >= 0.9. *Label entropy*: entropy of the judge's labels over all draws (3.32 bits = all ten "
        "digits equally often). *FID*: Fréchet distance between the judge's penultimate features of the draws and of "
        "the 10,000 test images (an internal FID: comparable only within this project; lower is better).", "",
        "| model | beta | latent | sampler | confident | label entropy (bits) | internal FID |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for sampler, s in r["sampling"].items():
            lines.append(f"| `{r['name']}` | {_beta(r)} | {r['latent_dim']} | "
                         f"{sampler} | {s['confident'] * 100:.1f}% | {s['label_entropy_bits']:.2f} | {s['fid']:.2f} |")
    pixel = [r for r in results if r["kind"] == gaussian.GAUSSIAN_KIND]
    if pixel:
        lines += ["", f"{NA}: does not apply. `{pixel[0]['name']}` is one multivariate Gaussian fitted to the training "
                  "pixels (`python -m vae.gaussian`): its z has the 784 dimensions of the image and there is no "
                  "decoder and no beta; its samples x = L z + \u03bc are clipped to [0, 1] before the judge sees "
                  "them, as in the app."]
    lines += [
        "", "## Completeness in the judge's feature space: holes, coverage, class balance", "",
        f"The same draws, each decoded image placed among the test images by its judge features. With B(x) the ball "
        f"around a real image reaching its {PRDC_K}rd-nearest real neighbour: *precision* is the share of draws "
        "inside some B(x) (Kynkaanniemi et al. 2019) and *holes* = 1 - precision, the share that no real digit lies "
        "near; *recall* the share of real images inside some draw's own ball; *density* the mean number of real "
        "balls holding a draw over k (about 1 when draws spread like the data) and *coverage* the share of real "
        f"balls holding a draw (Naeem et al. 2020). Computed on the first {PRDC_N:,} draws against {PRDC_N:,} test "
        "images (a fixed random subset). *Class TV*: total variation distance between the judge's label histogram "
        "of all draws and of the test images (0: every digit as common as in the data). None of these depends on "
        "how far a model spreads its codes.", "",
        "| model | beta | latent | sampler | precision | holes | recall | density | coverage | class TV |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for sampler, q in r["sampling"].items():
            lines.append(f"| `{r['name']}` | {_beta(r)} | {r['latent_dim']} | {sampler} | {q['precision'] * 100:.1f}% "
                         f"| {q['holes'] * 100:.1f}% | {q['recall'] * 100:.1f}% | {q['density']:.2f} | "
                         f"{q['coverage'] * 100:.1f}% | {q['class_tv']:.3f} |")
    lines += [
        "", "## Continuity: how smoothly the decoder morphs", "",
        f"*Per code s.d.*: the Frobenius norm of d image / d z times L, L L^T the covariance of the model's test "
        f"codes (pixels per standard deviation of its own codes, so rescaling z cannot change it), median over "
        f"{JACOBIAN_POINTS:,} points of the codes' region (half test codes, half points on segments between two), "
        "and its *spikiness*, 99th percentile over median (1: even; large: sharp edges between digit regions). "
        f"{args.pairs:,} random pairs of test digits, linear path between their codes in {args.steps} steps, "
        "decoded: *largest step*, the biggest single pixel step as a share of the path (1/"
        f"{args.steps} = {1 / args.steps:.2f} is an even morph, 1.0 a single jump); *label changes*, how often the "
        "judge's label changes along the path, against the *minimum* (1 when the two ends differ, else 0); *path "
        "ratio*, the path's pixel length over the distance between its end images. *Raw Jacobian*: the norm per "
        "unit of z at the test codes, which reads smoother for a model that merely spreads its codes wider: shown "
        "to make that visible, not to compare models.", "",
        "| model | beta | latent | Jacobian per code s.d. | spikiness | largest step | label changes | minimum "
        "| path ratio | raw Jacobian |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r["kind"] == gaussian.GAUSSIAN_KIND:
            lines.append(f"| `{r['name']}` | {NA} | {r['latent_dim']} | {NA} | {NA} | {NA} | {NA} | {NA} | {NA} "
                         f"| {NA} |")
            continue
        c = r["continuity"]
        lines.append(f"| `{r['name']}` | {_beta(r)} | {r['latent_dim']} | {c['jacobian_whitened_median']:.1f} | "
                     f"{c['jacobian_spikiness']:.2f} | {c['max_step_share']:.3f} | {c['label_changes']:.2f} | "
                     f"{c['label_changes_min']:.2f} | {c['path_ratio']:.2f} | {c['jacobian_norm']:.2f} |")
    if pixel:
        lines += ["", f"{NA}: does not apply. The pixel Gaussian has no encoder, so there are no test codes to walk "
                  "between, and its map z -> L z + \u03bc is linear: a straight path in z is a straight morph in "
                  "pixels by construction, and its Jacobian is L at every z."]
    lines += [
        "", "## Likelihood and latent usage", "",
        "-ELBO and reconstruction from the manifests (10,000 test images). IWAE: importance-weighted bound on log p(x) "
        f"with k = {args.iwae_k} on the first {args.iwae_n:,} test images (k = 1000 on all 10,000 for vae-z2 and "
        "vae-z20: checkpoints/README.md). Active units: dimensions whose posterior mean varies over the data by "
        "more than 0.01 (Burda et al. 2016).", "",
        "| model | beta | latent | recon | KL | -ELBO | IWAE log p(x) bound | active units "
        "| KL per dimension (sorted) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r["kind"] == gaussian.GAUSSIAN_KIND:
            lines.append(f"| `{r['name']}` | {NA} | {r['latent_dim']} | {NA} | {NA} | {NA} | {NA} | {NA} | {NA} |")
            continue
        t = r["test_metrics"]
        if registry.posterior(r["kind"]):
            kl = sorted(r["latent_usage"]["kl_per_dim"], reverse=True)
            lines.append(f"| `{r['name']}` | {_f(r['beta'], 1)} | {r['latent_dim']} | {t['recon']:.2f} | "
                         f"{t['kl']:.2f} | {t['neg_elbo']:.2f} | {r['likelihood']['log_px_bound']:.2f} | "
                         f"{r['latent_usage']['active_units']}/{r['latent_dim']} | "
                         f"{' '.join(f'{v:.2f}' for v in kl)} |")
        else:
            lines.append(f"| `{r['name']}` | - | {r['latent_dim']} | {t['recon']:.2f} | - | - | "
                         "- (no posterior) | - | - |")
    if pixel:
        g = pixel[0]
        lines += ["", f"{NA}: does not apply. The pixel Gaussian has no posterior and no Bernoulli decoder. Its mean "
                  f"log-density of the 10,000 test images is {g['log_density_nats']:.1f} nats per image (jitter "
                  f"{g['jitter']:g} on the covariance's diagonal), a continuous density over pixel values in [0, 1], "
                  "not the probability of a binary or 8-bit image: it is not comparable with the nats above, and it "
                  "moves with the jitter (the border pixels that no training image inks have variance = jitter)."]
    lines += _reading(results, seeds_json)
    from .amortization import results_section  # checkpoints/AMORTIZATION.json, if `python -m vae.amortization` ran
    lines += results_section()
    lines += ["", "## Provenance", "",
              f"Evaluation took {seconds:.0f} s here (`python -m vae.evaluate "
              f"--draws {args.draws} --pairs {args.pairs} --steps {args.steps} --iwae-k {args.iwae_k} "
              f"--iwae-n {args.iwae_n}{' --reuse' if getattr(args, 'reuse', False) else ''}`, "
              f"{torch.get_num_threads()} CPU threads"
              + (f", load average {' '.join(f'{v:.1f}' for v in load_average)} at the end" if load_average else "")
              + ")."
              + (f" {sum(1 for r in results if r.get('reused'))} checkpoints were reused from RESULTS.json (measured "
                 "earlier with the same weights and settings); measuring every checkpoint took "
                 f"{sum(r['seconds'] for r in results):.0f} s in all." if any(r.get("reused") for r in results)
                 else ""), "",
              "| checkpoint | weights sha256 |", "|---|---|",
              f"| `judge` | `{judge_manifest['weights_sha256']}` |"]
    lines += [f"| `{r['name']}` | `{r['weights_sha256']}` |" for r in results]
    return "\n".join(lines) + "\n"


def _reading(results: list[dict], seeds_json: dict | None) -> list[str]:
    """The seeds' tables and 'Reading the AE and the VAE side by side', generated from the numbers
    (vae.report.story): from SEEDS.json when `python -m vae.seeds` has run, else from the shipped seed alone."""
    by = {r["name"]: r for r in results}
    summary, lines = story_summary(results, seeds_json)
    if not summary:
        return []
    if seeds_json is not None:
        lines += report.seed_tables(summary, seeds_json)
    lines += ["", "## Reading the AE and the VAE side by side", "",
              "Generated from the numbers above by `python -m vae.evaluate` (`vae.report.story`); a range is "
              "min–max over the training seeds. Two models are called apart on a measure only when their ranges "
              "do not overlap.", ""]
    return lines + report.story(summary, by) + _pixel_baseline(results)


def _pixel_baseline(results: list[dict]) -> list[str]:
    """The Gaussian on pixels against the 2-D pair's shipped models, from the numbers."""
    by = {r["name"]: r for r in results}
    pixel = [r for r in results if r["kind"] == gaussian.GAUSSIAN_KIND]
    if not pixel or "ae-z2" not in by or "vae-z2" not in by:
        return []
    p = next(iter(pixel[0]["sampling"].values()))
    a, v = by["ae-z2"]["sampling"][PRIOR], by["vae-z2"]["sampling"][PRIOR]
    ranked = sorted([("the Gaussian on pixels", p["fid"]), ("the AE under N(0, I)", a["fid"]), ("the VAE", v["fid"])],
                    key=lambda t: t[1])
    extra = ""
    if all("coverage" in q for q in (p, a, v)):
        extra = (f"; coverage {p['coverage'] * 100:.1f}% (AE {a['coverage'] * 100:.1f}%, VAE "
                 f"{v['coverage'] * 100:.1f}%) and holes {p['holes'] * 100:.1f}% (AE {a['holes'] * 100:.1f}%, VAE "
                 f"{v['holes'] * 100:.1f}%)")
    return [f"- **The Gaussian on pixels** (`{pixel[0]['name']}`, the baseline): the judge is confident on "
            f"{p['confident'] * 100:.1f}% of its samples (AE under N(0, I) {a['confident'] * 100:.1f}%, VAE "
            f"{v['confident'] * 100:.1f}%), label entropy {p['label_entropy_bits']:.2f} bits, FID {p['fid']:.0f} "
            f"(AE {a['fid']:.0f}, VAE {v['fid']:.0f}; best to worst: {', '.join(n for n, _ in ranked)}){extra}. It "
            "matches the training pixels' mean and every pixel-to-pixel covariance, yet a Gaussian is one bump: its "
            "samples are the average digit plus correlated noise, strokes of several digits at once. A digit is a "
            "choice among a few shapes, and a single Gaussian cannot choose; a decoder from a low-dimensional z can."]


def _reusable(settings: dict) -> dict[str, dict]:
    """RESULTS.json's per-model figures when they were measured with `settings`, else {}."""
    if not RESULTS_JSON.exists():
        return {}
    earlier = json.loads(RESULTS_JSON.read_text())
    return earlier.get("models", {}) if earlier.get("settings") == settings else {}


def story_summary(results: list[dict], seeds_json: dict | None) -> tuple[dict, list[str]]:
    """vae.seeds.summarise of SEEDS.json, or (without it) the same shape from the shipped checkpoints alone, one
    seed each, with a line saying so."""
    if seeds_json is not None:
        return seeds.summarise(seeds_json), []
    by = {r["name"]: r for r in results}
    fake = {"pairs": {label: {n: {"seeds": {"0": by[n]}, "missing": [1, 2]} for n in names if n in by}
                      for label, names in seeds.PAIRS.items()}}
    summary = {k: v for k, v in seeds.summarise(fake).items() if len(v) == 2}
    note = ["", "*One seed only*: `checkpoints/SEEDS.json` is missing (run `python -m vae.seeds`), so no spread "
            "is known and no difference below can be called real."] if summary else []
    return summary, note


README_START = "<!-- results-summary:start (generated by python -m vae.evaluate from checkpoints/RESULTS.json and " \
               "SEEDS.json; do not edit) -->"
README_END = "<!-- results-summary:end -->"
README = CHECKPOINT_DIR.parent / "README.md"


def readme_block(results: list[dict], seeds_json: dict | None) -> str:
    """The README's generated summary (between the markers), from the same numbers as RESULTS.md."""
    summary, _ = story_summary(results, seeds_json)
    by = {r["name"]: r for r in results}
    text = "What they say (from RESULTS.md): " + report.readme_summary(summary, by)
    betas = sorted((r["beta"], r["latent_usage"]["active_units"]) for r in results
                   if registry.posterior(r.get("kind")) and r.get("latent_dim") == 10 and "latent_usage" in r)
    if len(betas) > 1:
        text += (" Raising beta in 10-D switches dimensions off: "
                 + ", ".join(f"{u} active units at beta {b:g}" for b, u in betas) + ".")
    return text


def update_readme(text: str, path: Path = README) -> bool:
    """Put `text` between the README's markers; False (nothing written) when the markers are missing."""
    doc = path.read_text()
    if README_START not in doc or README_END not in doc:
        return False
    head, rest = doc.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    path.write_text(f"{head}{README_START}\n{text}\n{README_END}{tail}")
    return True


def readme_section(path: Path = README) -> str | None:
    """The text between the README's markers (None without them)."""
    doc = path.read_text()
    if README_START not in doc or README_END not in doc:
        return None
    return doc.split(README_START, 1)[1].split(README_END, 1)[0].strip("\n")


# --- reading RESULTS.json back: the measured figures per model, for pages that show them beside pictures ----------

def summary_for(name: str, results_path=None, seeds_path=None) -> dict:
    """Every figure `python -m vae.evaluate` measured for the checkpoint `name`, read from checkpoints/RESULTS.json
    (and, for a model of vae.seeds.PAIRS, its spread over training seeds from checkpoints/SEEDS.json):

    {"name", "kind", "latent_dim", "beta",
     "sampling": {sampler: {"precision", "holes", "recall", "density", "coverage", "class_tv", "confident",
                            "label_entropy_bits", "label_histogram", "fid"}},   # samplers: "N(0, I)" (all models),
                                                                               # "fitted Gaussian", "GMM-10" (AEs)
     "continuity": {"jacobian_whitened_median", "jacobian_spikiness", "max_step_share", "label_changes",
                    "label_changes_min", "excess_label_changes", "path_ratio", "jacobian_norm"},
     "pair": "2-D" | "20-D" | None,
     "seeds": {"<sampler>/<field>" or "continuity/<field>": {"mean", "min", "max", "std", "n"}}}  # {} if none

    Pure reading (no model is loaded); raises MetricError with what to do when the files or the name are missing.
    """
    path = Path(results_path) if results_path else RESULTS_JSON
    if not path.exists():
        raise MetricError(f"no measured figures yet ({path.name} is missing): run `python -m vae.evaluate`")
    models = json.loads(path.read_text())["models"]
    if name not in models:
        raise MetricError(f"no measured figures for {name!r}; measured models: {', '.join(sorted(models))} "
                          "(run `python -m vae.evaluate` after adding a checkpoint)")
    r = models[name]
    pair = next((label for label, names in seeds.PAIRS.items() if name in names), None)
    spread = {}
    data = seeds.load(seeds_path or seeds.SEEDS_JSON)
    if pair and data is not None:
        spread = seeds.summarise(data).get(pair, {}).get(name, {})
    return {"name": name, "kind": r["kind"], "latent_dim": r["latent_dim"], "beta": r.get("beta"),
            "sampling": r["sampling"], "continuity": r.get("continuity", {}), "pair": pair, "seeds": spread}


def sampler_summary(name: str, sampler: str, **paths) -> dict:
    """The figures of one sampler of `name` (see `summary_for`); a sampler the model was not measured under (a
    GMM of a VAE: a VAE is sampled from its prior) raises MetricError naming the ones it was."""
    s = summary_for(name, **paths)
    if sampler not in s["sampling"]:
        kind = "a VAE is sampled from its prior N(0, I); the fitted samplers belong to the plain AE" \
            if registry.posterior(s["kind"]) else f"it was measured under {', '.join(s['sampling'])}"
        raise MetricError(f"{name} has no figures under the sampler {sampler!r}: {kind}")
    return s["sampling"][sampler]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=int, default=10000)
    p.add_argument("--pairs", type=int, default=1000)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--iwae-k", type=int, default=50)
    p.add_argument("--iwae-n", type=int, default=2000)
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--only", default="", help="comma-separated checkpoint names (default: all)")
    p.add_argument("--reuse", action="store_true", help="keep RESULTS.json's figures of checkpoints whose weights and "
                   "the settings are unchanged (measure only new or retrained ones)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        if not 1 <= args.iwae_n <= 10000 or args.iwae_k < 1:
            raise MetricError(f"--iwae-n must be in 1..10000 and --iwae-k >= 1, got {args.iwae_n} and {args.iwae_k}")
        if not 1 <= args.draws <= MAX_DRAWS:
            raise MetricError(f"--draws must be in 1..{MAX_DRAWS}, got {args.draws}")
        judge_ckpt = load_checkpoint(JUDGE)
        mnist = registry.dataset().load()
        real = real_set(judge_ckpt.model, mnist.x_test)
        names = [n for n in (args.only.split(",") if args.only else available()) if n and n != JUDGE]
        kinds = {n: _kind(read_manifest(n)) for n in names}
        names.sort(key=lambda n: kinds[n] != gaussian.GAUSSIAN_KIND)  # the baseline first, the rest in name order
        settings = {"draws": args.draws, "pairs": args.pairs, "steps": args.steps, "iwae_k": args.iwae_k,
                    "iwae_n": args.iwae_n, "prdc_n": PRDC_N, "jacobian_points": JACOBIAN_POINTS}
        earlier = _reusable(settings) if args.reuse else {}
        results = []
        for name in names:
            if read_manifest(name).get("weights_sha256") == earlier.get(name, {}).get("weights_sha256"):
                results.append({**earlier[name], "reused": True})
                print(f"{name}: reused from {RESULTS_JSON.name} (same weights and settings)", flush=True)
                continue
            if kinds[name] == gaussian.GAUSSIAN_KIND:
                r = evaluate_gaussian(name, judge_ckpt.model, mnist, real, args.draws)
            else:
                r = evaluate_checkpoint(name, judge_ckpt.model, mnist, real, args.draws, args.pairs,
                                        args.steps, args.iwae_k, args.iwae_n)
            print(f"{name}: {r['seconds']} s", flush=True)
            results.append(r)
    except CheckpointError as e:
        hint = " (train it with `python -m vae.judge --out checkpoints/judge`)" if JUDGE in e.path else ""
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    except (MetricError, data_mod.DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    seeds_json = seeds.load()
    Path(args.out).write_text(render(results, judge_ckpt.manifest, args, seconds, seeds_json, load))
    if not args.only:  # a partial run must not replace the app's figures or the README's summary
        Path(args.out).with_suffix(".json").write_text(json.dumps(
            {"settings": settings, "seconds": round(seconds, 1), "load_average": [round(v, 2) for v in load],
             "models": {r["name"]: {k: v for k, v in r.items() if k != "reused"} for r in results}}, indent=1) + "\n")
        if Path(args.out).resolve() == RESULTS.resolve() and not update_readme(readme_block(results, seeds_json)):
            print(f"note: README.md has no summary markers; its summary was not regenerated", file=sys.stderr)
    print(f"wrote {args.out} in {seconds:.0f} s (load average {' '.join(f'{v:.1f}' for v in load)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
