"""Write checkpoints/README.md from the checkpoints' manifests, so that the table can never drift from them.

    python -m vae.report            rewrite checkpoints/README.md
    python -m vae.report --check    exit 1 if checkpoints/README.md differs from what the manifests say
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import registry
from .checkpoint import CHECKPOINT_DIR, available, read_manifest

README = CHECKPOINT_DIR / "README.md"

HEADER = """# Shipped checkpoints

Each folder holds `model.pt` (the model's `state_dict`, loaded with `weights_only=True`, `strict=True`) and
`manifest.json`: model and training configs, per-epoch history, test metrics, the sha256 of `data/mnist.npz` and of
`model.pt`, library versions, and the exact command that trained it. This file is generated from those manifests by
`python -m vae.report`; a test fails when it is stale.

Metrics are on the 10,000 MNIST test images, in nats per image: reconstruction is the summed Bernoulli BCE over the
784 grayscale pixels at a decoded z (one z = mu + sigma * eps per image for a VAE, with a fixed seed), KL is
KL(q(z|x) || N(0, I)), -ELBO is their sum. The IWAE column is the importance-weighted bound on log p(x) with k
samples (Burda et al. 2016), written into the manifest by `python -m vae.metrics iwae NAME --k 1000 --record`.
"""


def _fmt(value, digits=2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def render(directory: Path = CHECKPOINT_DIR) -> str:
    rows = ["| name | model | latent | beta | test recon | test KL | test -ELBO | IWAE log p(x) bound | epochs | "
            "train time |", "|---|---|---|---|---|---|---|---|---|---|"]
    commands = []
    versions: dict[str, str] = {}
    data_sha: set[str] = set()
    judge_lines = []
    for name in available(directory):
        m = read_manifest(directory / name)
        versions.update(m["versions"])
        data_sha.add(m["data"]["sha256"])
        if m["model"].get("kind") == "judge":
            judge_lines.append(f"The judge `{name}` (a CNN digit classifier that only judges decoded images; see "
                               f"RESULTS.md): test accuracy {m['test_metrics']['accuracy'] * 100:.2f}%, "
                               f"{m['training']['epochs']} epochs, {m.get('train_seconds', 0):.0f} s.")
            commands.append(f"# {name}\n{m['command']}")
            continue
        if m["model"].get("kind") == "gaussian":
            t = m["test_metrics"]
            judge_lines.append(
                f"The baseline `{name}` (one multivariate Gaussian over the 784 pixels, samples x = L z + \u03bc with "
                f"L L^T = \u03a3 + {m['model']['jitter']:g} I, fitted to {m['data']['train_images']:,} training images "
                f"in {m.get('train_seconds', 0):.1f} s): the judge is confident on {t['confident'] * 100:.1f}% of "
                f"{m['training']['judge_draws']:,} samples (clipped to [0, 1]), label entropy "
                f"{t['label_entropy_bits']:.2f} bits, internal FID {t['fid']:.1f}; mean test log-density "
                f"{t['log_density_nats']:.1f} nats per image, a continuous density over pixel values that is not "
                "comparable with the Bernoulli nats in the table.")
            commands.append(f"# {name}\n{m['command']}")
            continue
        model, train, metrics = m["model"], m["training"], m["test_metrics"]
        arch = f"{model['arch'].upper()} {'-'.join(map(str, model['hidden']))}" if model["arch"] == "mlp" \
            else f"conv {model['channels']}"
        kind, posterior = registry.label(model["kind"]), registry.posterior(model["kind"])
        beta = _fmt(train["beta"], 1) if posterior else "-"
        iwae = m.get("iwae")
        if not posterior:
            iwae_text = "- (no posterior)"
        else:
            iwae_text = f"{iwae['log_px_bound']:.2f} (k={iwae['k']})" if iwae else "not computed"
        rows.append(f"| `{name}` | {kind}, {arch} | {model['latent_dim']} | {beta} | {_fmt(metrics.get('recon'))} | "
                    f"{_fmt(metrics.get('kl')) if posterior else '-'} | "
                    f"{_fmt(metrics.get('neg_elbo')) if posterior else '-'} | {iwae_text} | "
                    f"{_trained(m)} |")
        commands.append(f"# {name}\n{m['command']}")
        if iwae:
            commands.append(iwae["command"])
    parts = [HEADER, "\n".join(rows), "", *(line + "\n" for line in judge_lines),
             "## How they were made", "",
             "From the repository root, with the project's environment (`make train-all` runs the training commands):",
             "", "```bash", "\n".join(commands), "```", "",
             f"Data: `data/mnist.npz`, sha256 `{', '.join(sorted(data_sha))}`. "
             f"Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".", ""]
    return "\n".join(parts)


def _trained(m: dict) -> str:
    """The table's last two cells: epochs and training time, or where an imported model came from."""
    if "imported_from" in m:
        return f"- | imported ({m['imported_from'].get('layout', 'outside weights')})"
    return f"{m['training']['epochs']} | {m.get('train_seconds', 0):.0f} s on {m.get('threads', '?')} CPU threads"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that checkpoints/README.md is current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = README.read_text() if README.exists() else ""
        if current != text:
            print("checkpoints/README.md is stale: run `python -m vae.report`", file=sys.stderr)
            return 1
        print("checkpoints/README.md is current")
        return 0
    README.write_text(text)
    print(f"wrote {README.relative_to(CHECKPOINT_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# --- the AE-against-VAE story, generated from the measured numbers (RESULTS.json and SEEDS.json) ---------------------

from typing import NamedTuple  # noqa: E402


class Measure(NamedTuple):
    key: str  # "continuity/<name>" or "<sampler field>" (read under each sampler)
    label: str  # the words a table row uses
    better: str | None  # "lower", "higher" or None (no direction: reported, not judged)
    digits: int  # decimals shown
    percent: bool = False  # shown as a percentage


COMPLETENESS = [
    Measure("holes", "holes (1 - precision)", "lower", 1, True),
    Measure("precision", "precision (k = 3)", "higher", 1, True),
    Measure("recall", "recall (k = 3)", "higher", 1, True),
    Measure("density", "density (about 1: spread like the data)", None, 2),
    Measure("coverage", "coverage", "higher", 1, True),
    Measure("class_tv", "class balance: TV distance to the test labels", "lower", 3),
    Measure("confident", "judge-confident share", "higher", 1, True),
    Measure("label_entropy_bits", "label entropy (bits)", "higher", 2),
    Measure("fid", "internal FID", "lower", 0),
]
CONTINUITY = [
    Measure("continuity/jacobian_whitened_median", "Jacobian per code s.d. (median)", "lower", 1),
    Measure("continuity/jacobian_spikiness", "spikiness (99th pct / median)", "lower", 2),
    Measure("continuity/max_step_share", "largest step (share of path)", "lower", 3),
    Measure("continuity/excess_label_changes", "label changes above the minimum", "lower", 2),
    Measure("continuity/label_changes", "label changes along a path", None, 2),
    Measure("continuity/path_ratio", "path ratio (length / end distance)", "lower", 2),
    Measure("continuity/jacobian_norm", "raw Jacobian norm (per unit of z: scale-dependent)", None, 2),
]
PRIOR, FITTED, GMM10 = "N(0, I)", "fitted Gaussian", "GMM-10"
README_KEYS = {"coverage", "class_tv", "confident", "continuity/jacobian_whitened_median",
               "continuity/jacobian_spikiness", "continuity/max_step_share", "continuity/excess_label_changes"}

# Why a measure may fail to separate the models, in the pair's dimension; the generic reason otherwise.
WHY_NOT = {
    ("confident", None): "the judge is sure of most decoded images from both models; being sure that an image is a "
                         "digit says neither that every digit is drawn nor that the image lies near real ones (the "
                         "holes, coverage and class-balance rows do)",
    ("continuity/excess_label_changes", "2-D"): "in two dimensions the ten digit regions must touch, so a straight "
                                                "line between two codes crosses other digits in both models",
    ("continuity/", "20-D"): "paths between test codes stay where both models were trained; in 20-D the two "
                             "differ off the data, where the prior puts mass, which the completeness rows measure",
}
# Why the AE comes out ahead on a measure that separates the models, where that could read as "the KL term hurts".
WHY_AE_AHEAD = {
    ("continuity/path_ratio", "2-D"): "a path's length in pixels grows with every other digit it passes through on "
                                      "the way, and in two dimensions the ten digit regions must touch, so a straight "
                                      "line crosses other digits in both models (see the label-change rows); the "
                                      "gap is {gap} of the value",
    ("continuity/", "20-D"): "these paths run between codes of test digits, where both decoders were trained, and the "
                             "gaps are at most {gap} of the value; the KL term's gain in 20-D lies off the "
                             "data, where the prior puts its mass, which the completeness rows measure",
}
GENERIC_WHY = "the ranges over the seeds overlap: the two models differ less than two trainings of one model do"
ONE_SEED_WHY = "one training seed only, so the spread between trainings is unknown"


def _reason(table: dict[tuple[str, str | None], str], key: str, pair: str) -> str | None:
    """The text of `table` for measure `key` in `pair`: an entry names a measure or, ending in "/", a group of
    them, and a pair or None for every pair."""
    for (k, p), text in table.items():
        if (key == k or (k.endswith("/") and key.startswith(k))) and p in (None, pair):
            return text
    return None


def why_not(key: str, pair: str, n: int = 3) -> str:
    if n < 2:
        return ONE_SEED_WHY
    return _reason(WHY_NOT, key, pair) or GENERIC_WHY


def why_ae_ahead(key: str, pair: str) -> str | None:
    return _reason(WHY_AE_AHEAD, key, pair)


def _seeds(n: int) -> str:
    return f"{n} training seeds, mean (min\u2013max)" if n > 1 else "one training seed"


def fmt(s: dict | float | None, m: Measure) -> str:
    """A spread {"mean", "min", "max", "n"} as "mean (min-max)", a number as itself, None as "-"."""
    if s is None:
        return "-"

    def one(v):
        return f"{v * 100:.{m.digits}f}%" if m.percent else f"{v:.{m.digits}f}"

    if not isinstance(s, dict):
        return one(s)
    if s.get("n", 1) < 2:
        return one(s["mean"])
    return f"{one(s['mean'])} ({one(s['min'])}\u2013{one(s['max'])})"


def verdict(a: dict, v: dict, better: str | None) -> tuple[bool, str | None]:
    """(separated, which is better). Separated when both were measured over at least two seeds and the two ranges
    do not overlap; better by the measure's direction."""
    if a.get("n", 1) < 2 or v.get("n", 1) < 2:
        return False, None  # one seed has no spread: no difference can be called real
    separated = a["max"] < v["min"] or v["max"] < a["min"]
    if not separated or better is None:
        return separated, None
    lower = "AE" if a["mean"] < v["mean"] else "VAE"
    return True, lower if better == "lower" else ("VAE" if lower == "AE" else "AE")


def _key(m: Measure, sampler: str) -> str:
    return m.key if m.key.startswith("continuity/") else f"{sampler}/{m.key}"


def seed_tables(summary: dict, seeds_json: dict) -> list[str]:
    """The '## Over three training seeds' section: one table per pair, every measure, mean (min-max)."""
    s = seeds_json["settings"]
    lines = ["", "## Over three training seeds", "",
             f"`python -m vae.seeds` trains seeds 1 and 2 of each model below with its shipped command (only "
             f"`--seed` changes; seed 0 is the shipped checkpoint) and measures all of them as above ({s['draws']:,} "
             f"draws per sampler, {s['pairs']:,} paths of {s['steps']} steps), into `checkpoints/SEEDS.json`. Each "
             "cell: mean over the seeds (min\u2013max). *Apart* when the ranges of the AE under N(0, I) and the VAE "
             "do not overlap; the better side by the measure's direction."]
    for label, models in summary.items():
        names = list(seeds_json["pairs"][label])
        if len(models) < 2:
            lines += ["", f"### {label}: not measured yet ({', '.join(names)})"]
            continue
        ae_name, vae_name = names
        ae, vae = models[ae_name], models[vae_name]
        n = {nm: len(seeds_json["pairs"][label][nm]["seeds"]) for nm in names}
        lines += ["", f"### {label}: `{ae_name}` against `{vae_name}` ({n[ae_name]} and {n[vae_name]} seeds)", "",
                  f"| measure | AE, {PRIOR} | AE, {FITTED} | AE, {GMM10} | VAE, {PRIOR} | AE vs VAE under N(0, I) |",
                  "|---|---|---|---|---|---|"]
        for m in COMPLETENESS:
            a = ae.get(_key(m, PRIOR))
            v = vae.get(_key(m, PRIOR))
            sep, best = verdict(a, v, m.better) if a and v else (False, None)
            word = (f"apart: {best} better" if best else "apart") if sep else "overlap"
            lines.append(f"| {m.label} | {fmt(a, m)} | {fmt(ae.get(_key(m, FITTED)), m)} | "
                         f"{fmt(ae.get(_key(m, GMM10)), m)} | {fmt(v, m)} | {word} |")
        for m in CONTINUITY:
            a, v = ae.get(m.key), vae.get(m.key)
            sep, best = verdict(a, v, m.better) if a and v else (False, None)
            word = (f"apart: {best} {'smoother' if m.better else 'higher'}" if best else "apart") if sep else \
                "overlap"
            lines.append(f"| {m.label} | {fmt(a, m)} | \u2014 | \u2014 | {fmt(v, m)} | {word} |")
    return lines


def _compare(ae: dict, vae: dict, measures: list[Measure], label: str,
             n: int) -> tuple[list[str], dict, list[str]]:
    """(["measure AE vs VAE, X better", ...] for the measures whose seed ranges are apart,
    {reason: ["measure AE vs VAE", ...]} for the rest, [a sentence saying why the AE leads] for apart measures where it
    does and WHY_AE_AHEAD has a reason, with the largest relative gap filled in), over the measures with a
    direction."""
    apart, tied, ahead = [], {}, {}
    for m in measures:
        if m.better is None or m.key == "precision":  # precision is 1 - holes: said once
            continue
        k = _key(m, PRIOR)
        a, v = ae.get(k), vae.get(k)
        if not (a and v):
            continue
        sep, best = verdict(a, v, m.better)
        words = f"{m.label} {fmt(a, m)} vs {fmt(v, m)}"
        if sep:
            apart.append(f"{words} ({best} {'smoother' if k.startswith('continuity/') else 'better'})")
            reason = why_ae_ahead(m.key, label) if best == "AE" else None
            if reason:
                gap = abs(a["mean"] - v["mean"]) / max(abs(a["mean"]), abs(v["mean"]), 1e-12)
                ahead.setdefault(reason, []).append((m.label.split(" (")[0], gap))
        else:
            tied.setdefault(why_not(m.key, label, n), []).append((m.label.split(" (")[0], words))
    leads = [f"Why the AE leads on {', '.join(name for name, _ in parts)}: "
             f"{reason.format(gap=f'{max(g for _, g in parts) * 100:.0f}%')}." for reason, parts in ahead.items()]
    return apart, tied, leads


def _say(apart: list[str], tied: dict, leads: list[str] = (), numbers: bool = True) -> str:
    """Sentences: the measures that separate, why the AE leads where it does, then the measures that do not
    separate, grouped by why (names only when not `numbers`)."""
    out = []
    if apart:
        out.append("Apart: " + "; ".join(apart) + ".")
    out += leads
    for reason, parts in tied.items():
        said = [words if numbers else name for name, words in parts]
        if reason == ONE_SEED_WHY:
            out.append(f"Measured on one training seed, AE vs VAE: {'; '.join(said)}. No difference can be called "
                       "real until more seeds are measured (`python -m vae.seeds`).")
        else:
            out.append(f"Not separated: {'; '.join(said)}. Why: {reason}.")
    return " ".join(out)


def _precision_caveat(ae: dict, vae: dict) -> str:
    """When the AE's N(0, I) draws have fewer holes but reach less of the data (lower coverage and recall), say why
    that is no merit (empty when the numbers do not fall that way)."""
    k = lambda f: f"{PRIOR}/{f}"  # noqa: E731
    need = [k("holes"), k("coverage"), k("recall"), k("confident")]
    if not all(key in ae and key in vae for key in need):
        return ""
    if not (ae[k("holes")]["mean"] < vae[k("holes")]["mean"] and ae[k("coverage")]["mean"] < vae[k("coverage")]["mean"]
            and ae[k("recall")]["mean"] <= vae[k("recall")]["mean"]):
        return ""
    pc = Measure("", "", None, 1, True)
    return (f"Fewer holes is no merit here: with recall {fmt(ae[k('recall')], pc)} and coverage "
            f"{fmt(ae[k('coverage')], pc)} (VAE {fmt(vae[k('recall')], pc)} and {fmt(vae[k('coverage')], pc)}) the "
            f"AE's draws pile onto a small part of the data, and the judge is confident of "
            f"{fmt(ae[k('confident')], pc)} of them (VAE {fmt(vae[k('confident')], pc)}). Precision counts a draw as "
            "real when it lies inside any test digit's k-NN ball, and the balls of unusual test digits are wide, "
            "which is why Naeem et al. (2020) added density and coverage. ")


def _fitted_density(ae: dict, vae: dict) -> str:
    """What the AE's draws from a GMM-10 fitted to its own codes say against the VAE's N(0, I) draws: with a density
    that matches its codes, an AE's decoder may do as well as a VAE's, which shows that what the KL term buys is a
    known density to sample from (Ghosh et al. 2020's ex-post density estimation). Empty when not measured."""
    keys = ("coverage", "confident")
    if not all(f"{GMM10}/{k}" in ae and f"{PRIOR}/{k}" in vae for k in keys):
        return ""
    pc = Measure("", "", None, 1, True)
    pairs = "; ".join(f"{k.replace('confident', 'judge-confident')} {fmt(ae[f'{GMM10}/{k}'], pc)} vs "
                      f"{fmt(vae[f'{PRIOR}/{k}'], pc)}" for k in keys)
    if all(ae[f"{GMM10}/{k}"]["mean"] >= vae[f"{PRIOR}/{k}"]["mean"] for k in keys):
        return (f"Drawn from a GMM-10 fitted to its codes, the AE's images match or beat the VAE's ({pairs}): its "
                "decoder is good wherever its codes are; what it lacks is a density to draw codes from, which the KL "
                "term gives the VAE as N(0, I) and an AE must fit afterwards (Ghosh et al. 2020). ")
    return (f"Even drawn from a GMM-10 fitted to its codes, the AE's images reach less than the VAE's under N(0, I) "
            f"({pairs}). ")


def story(summary: dict, results: dict[str, dict]) -> list[str]:
    """The bullets of 'Reading the AE and the VAE side by side', stated from the numbers whichever way they fall."""
    out = []
    for label in sorted(summary, key=lambda lab: -int(lab.split("-")[0])):  # the 20-D pair first: the real gap
        models = summary[label]
        if len(models) < 2:
            continue
        (ae_name, ae), (vae_name, vae) = list(models.items())
        n = min(next(iter(ae.values()))["n"], next(iter(vae.values()))["n"])
        holes = {s: ae.get(f"{s}/holes") for s in (PRIOR, FITTED, GMM10)}
        h = COMPLETENESS[0]
        vh = vae[f"{PRIOR}/holes"]
        sep, best = verdict(holes[PRIOR], vh, "lower")
        text = (f"- **{label}, completeness** (`{ae_name}` vs `{vae_name}`, {_seeds(n)}): of the "
                f"decoded N(0, I) draws, {fmt(holes[PRIOR], h)} of the AE's and {fmt(vh, h)} of the VAE's fall in "
                "holes, outside every k-NN ball of the real test digits in the judge's feature space; ")
        text += (f"the ranges are apart, the {best} has fewer. " if sep else
                 f"this does not separate them ({why_not('holes', label, n)}). ")
        text += _precision_caveat(ae, vae)
        fair = [(s, holes[s]) for s in (FITTED, GMM10) if holes[s]]
        if fair:
            text += ("Sampled from a density fitted to its own codes, the AE has " +
                     " and ".join(f"{fmt(v, h)} in holes under the {s}" for s, v in fair) + ". ")
        text += _fitted_density(ae, vae)
        out.append(text + "Under N(0, I), AE vs VAE. " + _say(*_compare(ae, vae, COMPLETENESS[1:], label, n)))
        text = (f"- **{label}, continuity** (AE vs VAE, in units no rescaling of z can change). "
                + _say(*_compare(ae, vae, CONTINUITY, label, n)))
        raw = CONTINUITY[-1]
        ra, rv = ae.get(raw.key), vae.get(raw.key)
        if ra and rv:
            text += (f" The raw Jacobian norm, per unit of z, reads {fmt(ra, raw)} against {fmt(rv, raw)}: it "
                     "measures how far each model spreads its codes, not how smooth its decoder is, so it is "
                     "not used to compare them.")
        out.append(text)
    betas = sorted((r["beta"], r["latent_usage"]["active_units"]) for r in results.values()
                   if registry.posterior(r.get("kind")) and r.get("latent_dim") == 10 and "latent_usage" in r)
    if len(betas) > 1:
        out.append("- **Raising beta in 10-D** switches dimensions off: " +
                   ", ".join(f"{u} active units at beta {b:g}" for b, u in betas) + ".")
    return out


def readme_summary(summary: dict, results: dict[str, dict]) -> str:
    """The README's short paragraph: the headline figures of `story`, with the seeds' ranges."""
    sentences = []
    for label in sorted(summary, key=lambda lab: -int(lab.split("-")[0])):
        models = summary[label]
        if len(models) < 2:
            continue
        (ae_name, ae), (vae_name, vae) = list(models.items())
        n = min(next(iter(ae.values()))["n"], next(iter(vae.values()))["n"])
        h = COMPLETENESS[0]
        holes = [f"{fmt(ae.get(f'{s}/holes'), h)} under {'its ' if s != PRIOR else ''}{s}"
                 for s in (PRIOR, FITTED, GMM10) if ae.get(f"{s}/holes")]
        sep, best = verdict(ae[f"{PRIOR}/holes"], vae[f"{PRIOR}/holes"], "lower")
        s = (f"In {label} (`{ae_name}` vs `{vae_name}`, {_seeds(n)}), {', '.join(holes)} of the AE's decoded draws "
             f"fall in holes (outside every k-NN ball of real digits in the judge's features) against "
             f"{fmt(vae[f'{PRIOR}/holes'], h)} of the VAE's under N(0, I)"
             + (f": the {best} has fewer, the ranges apart." if sep else
                f": not separated ({why_not('holes', label, n)}).") + " " + _precision_caveat(ae, vae))
        headline = [m for m in COMPLETENESS[1:] + CONTINUITY if m.key in README_KEYS]
        s += _say(*_compare(ae, vae, headline, label, n), numbers=n < 2)  # with one seed the numbers are all there is to say
        sentences.append(s.strip())
    return "\n\n".join(sentences)
