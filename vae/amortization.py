"""The amortization gap: how much ELBO the encoder gives away by guessing q(z|x) in one forward pass.

A VAE's encoder maps every image x to q(z|x) = N(mu(x), diag(exp(logvar(x)))) with one shared network (amortized
inference). Nothing stops us from fitting q to one image alone instead: start at the encoder's (mu, logvar) and take
gradient steps on that image's own ELBO,

    ELBO(x; m, s) = E_{eps ~ N(0, I)} [log p(x | z = m + s * eps)] - KL(N(m, diag(s^2)) || N(0, I)),

estimated with a few eps per step (the reparametrization trick: the noise is outside, so gradients reach m and
log s^2), with Adam. The decoder stays fixed. The fitted q is the best *mean-field Gaussian* for this decoder and this
image; the ELBO it reaches minus the encoder's ELBO is the amortization gap (Cremer, Li and Duvenaud 2018, section 3),
in nats, >= 0 up to Monte Carlo noise. Both ELBOs are estimated with the same draws eps_1..eps_K under a fixed seed
(common random numbers), so their difference is not drowned in sampling noise.

    python -m vae.amortization --model vae-z2 --model vae-z20 --n 100

fits the first 100 test digits for each model and writes checkpoints/AMORTIZATION.json; `results_section()` turns
that file into the "Amortization gap" section of checkpoints/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch

from . import registry
from .checkpoint import CHECKPOINT_DIR, CheckpointError, load_checkpoint
from .losses import kl_divergence, reconstruction_bce

RESULTS_JSON = CHECKPOINT_DIR / "AMORTIZATION.json"
RESULTS_MD = CHECKPOINT_DIR / "RESULTS.md"
SECTION_TITLE = "## Amortization gap: the encoder against a fit to each image"
MAX_STEPS = 5000
MAX_SAMPLES = 512
MAX_EVAL_SAMPLES = 20000


class AmortizationError(ValueError):
    """The fit was asked of a model without a posterior, or with settings out of range."""


@dataclass
class FitConfig:
    steps: int = 200  # Adam steps on the image's own ELBO
    samples: int = 16  # eps draws per step (the gradient's Monte Carlo estimate)
    lr: float = 0.02  # Adam's step size at the start; it decays (cosine) to lr / 20 so the last steps settle
    eval_samples: int = 2000  # eps draws that estimate both final ELBOs (the same draws for both)
    seed: int = 0  # seeds the training draws and the evaluation draws

    def validate(self) -> None:
        if not 1 <= self.steps <= MAX_STEPS:
            raise AmortizationError(f"steps must be in 1..{MAX_STEPS}, got {self.steps}")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise AmortizationError(f"samples per step must be in 1..{MAX_SAMPLES}, got {self.samples}")
        if not 1 <= self.eval_samples <= MAX_EVAL_SAMPLES:
            raise AmortizationError(f"eval_samples must be in 1..{MAX_EVAL_SAMPLES}, got {self.eval_samples}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise AmortizationError(f"lr must be a positive number, got {self.lr}")


class FitResult(NamedTuple):
    """One fit per image; arrays have a leading batch axis n (n = 1 for a single image).

    curve: (steps + 1, n) the ELBO estimate at each step's training draws (row 0: the encoder's q), noisy;
    mu0, logvar0: (n, latent_dim) the encoder's q; mu, logvar: (n, latent_dim) the fitted q;
    encoder_elbo, fitted_elbo, gap: (n,) in nats, both ELBOs under the same eval_samples draws; gap = fitted - encoder;
    kept_encoder: (n,) True where the fit did not beat the encoder under those draws (then the fitted q is the
    encoder's and the gap is 0); seconds: wall time of the fit.
    """

    curve: np.ndarray
    mu0: np.ndarray
    logvar0: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray
    encoder_elbo: np.ndarray
    fitted_elbo: np.ndarray
    gap: np.ndarray
    kept_encoder: np.ndarray
    seconds: float


def elbo_samples(model: torch.nn.Module, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                 eps: torch.Tensor) -> torch.Tensor:
    """Single-draw ELBO estimates log p(x|z_k) - KL(q || p), z_k = mu + sigma * eps_k.

    x: (n, 1, 28, 28) in [0, 1]; mu, logvar: (n, d); eps: (k, n, d) -> (k, n) in nats. Their mean over k estimates
    the ELBO without bias; the KL term is analytic (Kingma and Welling 2014, eq. 10).
    """
    k, n, d = eps.shape
    z = mu + torch.exp(0.5 * logvar) * eps  # (k, n, d)
    logits = model.decode(z.reshape(k * n, d))
    log_px_z = -reconstruction_bce(logits, x.repeat(k, 1, 1, 1)).view(k, n)
    return log_px_z - kl_divergence(mu, logvar)[None, :]


def _as_batch(x) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x, dtype=np.float32) if not isinstance(x, torch.Tensor) else x).float()
    if x.dim() == 2 and x.shape == (28, 28):
        x = x[None]
    if x.dim() == 3 and x.shape[1:] == (28, 28):
        x = x[:, None]
    if x.dim() != 4 or x.shape[1:] != (1, 28, 28):
        raise AmortizationError(f"expected images of shape (28, 28) or (n, 28, 28) in [0, 1], got {tuple(x.shape)}")
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise AmortizationError("image pixels must be finite numbers in [0, 1]")
    return x


def fit_posterior(model: torch.nn.Module, x, config: FitConfig | None = None,
                  callback: Callable[[int, np.ndarray], None] | None = None, every: int = 10) -> FitResult:
    """Fit q(z|x) = N(m, diag(exp(logvar))) to each image of x by Adam on its own ELBO, from the encoder's q.

    x: (28, 28), (n, 28, 28) or (n, 1, 28, 28) floats in [0, 1]. The images are fitted together but independently
    (the objective is a sum over images, and Adam's update is elementwise). `callback(step, curve_so_far)` is called
    every `every` steps and at the end, curve_so_far (step + 1, n). Deterministic for a given config.seed. The model
    is only read (its parameters get no gradient and it is not switched to train mode), so a cached model can be
    shared.
    """
    config = config or FitConfig()
    config.validate()
    if not registry.has_posterior(model):
        raise AmortizationError("the amortization gap needs an encoder that outputs q(z|x): it applies to a VAE, "
                                "not a plain AE (whose code is a point)")
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    x = _as_batch(x).to(device)
    gen = torch.Generator(device="cpu").manual_seed(config.seed)
    eval_gen = torch.Generator(device="cpu").manual_seed(config.seed + 1_000_003)
    with torch.inference_mode(False), torch.enable_grad():
        with torch.no_grad():
            mu0, logvar0 = model.encode(x)
            mu0, logvar0 = mu0.detach().clone().float(), logvar0.detach().clone().float()
        n, d = mu0.shape
        mu = mu0.clone().requires_grad_(True)
        logvar = logvar0.clone().requires_grad_(True)
        opt = torch.optim.Adam([mu, logvar], lr=config.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps, eta_min=config.lr / 20)
        curve = np.empty((config.steps + 1, n), dtype=np.float64)
        for step in range(config.steps + 1):
            eps = torch.randn((config.samples, n, d), generator=gen).to(device)
            elbo = elbo_samples(model, x, mu, logvar, eps).mean(0)  # (n,)
            curve[step] = elbo.detach().cpu().numpy()
            if callback is not None and (step % every == 0 or step == config.steps):
                callback(step, curve[:step + 1])
            if step == config.steps:
                break
            opt.zero_grad(set_to_none=True)
            (-elbo.sum()).backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                logvar.clamp_(-30.0, 10.0)  # keeps exp(logvar) finite if a step overshoots
        mu, logvar = mu.detach(), logvar.detach()
    with torch.no_grad():
        encoder_elbo = torch.zeros(n, dtype=torch.float64)
        fitted_elbo = torch.zeros(n, dtype=torch.float64)
        chunk = max(1, 4000 // max(n, 1))
        done = 0
        while done < config.eval_samples:
            k = min(chunk, config.eval_samples - done)
            eps = torch.randn((k, n, d), generator=eval_gen).to(device)
            encoder_elbo += elbo_samples(model, x, mu0, logvar0, eps).double().sum(0).cpu()
            fitted_elbo += elbo_samples(model, x, mu, logvar, eps).double().sum(0).cpu()
            done += k
        encoder_elbo /= config.eval_samples
        fitted_elbo /= config.eval_samples
    kept = (fitted_elbo < encoder_elbo).numpy()
    mu_np, logvar_np = mu.cpu().numpy().copy(), logvar.cpu().numpy().copy()
    mu_np[kept], logvar_np[kept] = mu0.cpu().numpy()[kept], logvar0.cpu().numpy()[kept]
    fitted = np.where(kept, encoder_elbo.numpy(), fitted_elbo.numpy())
    enc = encoder_elbo.numpy()
    return FitResult(curve=curve, mu0=mu0.cpu().numpy(), logvar0=logvar0.cpu().numpy(), mu=mu_np, logvar=logvar_np,
                     encoder_elbo=enc, fitted_elbo=fitted, gap=fitted - enc, kept_encoder=kept,
                     seconds=time.perf_counter() - t0)


# --- over a set of test digits: the figures in RESULTS.md -------------------------------------------------------

def summarize(gaps: np.ndarray) -> dict:
    """Mean, standard deviation, standard error, median and the 10th/90th percentiles of per-image gaps (nats)."""
    g = np.asarray(gaps, dtype=np.float64)
    return {"mean": float(g.mean()), "std": float(g.std(ddof=1)) if len(g) > 1 else 0.0,
            "sem": float(g.std(ddof=1) / math.sqrt(len(g))) if len(g) > 1 else 0.0,
            "median": float(np.median(g)), "p10": float(np.percentile(g, 10)), "p90": float(np.percentile(g, 90)),
            "n": int(len(g))}


def measure(name: str, n: int, config: FitConfig, batch: int = 25) -> dict:
    """Fit the first n test digits for checkpoint `name` (in batches) and summarize their gaps."""
    from . import data as data_mod

    ckpt = load_checkpoint(name)
    images = data_mod.to_float(registry.dataset().load().x_test[:n])
    t0 = time.perf_counter()
    enc, fit, gap, kept = [], [], [], []
    for start in range(0, n, batch):
        r = fit_posterior(ckpt.model, images[start:start + batch], config)
        enc.append(r.encoder_elbo)
        fit.append(r.fitted_elbo)
        gap.append(r.gap)
        kept.append(r.kept_encoder)
    enc, fit, gap, kept = map(np.concatenate, (enc, fit, gap, kept))
    return {"model": name, "latent_dim": ckpt.config.latent_dim, "weights_sha256": ckpt.manifest["weights_sha256"],
            "images": n, "encoder_elbo": summarize(enc), "fitted_elbo": summarize(fit), "gap": summarize(gap),
            "kept_encoder": int(kept.sum()), "seconds": round(time.perf_counter() - t0, 1)}


def results_section(path: Path = RESULTS_JSON) -> list[str]:
    """The RESULTS.md lines for checkpoints/AMORTIZATION.json, or [] when the file is missing or unreadable."""
    try:
        doc = json.loads(Path(path).read_text())
        rows = doc["results"]
        cfg = doc["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    lines = ["", SECTION_TITLE, "",
             f"For each of the first {rows[0]['images'] if rows else 0} test digits, q(z|x) = N(m, diag(s^2)) fitted "
             f"to that image alone: {cfg['steps']} Adam steps on its own ELBO ({cfg['samples']} reparametrized draws "
             f"a step, step size {cfg['lr']:g} decaying to {cfg['lr'] / 20:g}), starting from the encoder's q. Both "
             f"ELBOs are estimated with the same {cfg['eval_samples']:,} draws (seed {cfg['seed']}). *Gap*: fitted "
             "ELBO minus the encoder's, in nats per image: what one shared network loses against a fit to each image "
             "(the amortization gap, Cremer et al. 2018). Spread: standard deviation over images, and the 10th-90th "
             "percentiles.", "",
             "| model | latent | encoder ELBO | fitted ELBO | gap: mean ± sd | median | 10th-90th pct | fit time |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g = r["gap"]
        lines.append(f"| `{r['model']}` | {r['latent_dim']} | {r['encoder_elbo']['mean']:.2f} | "
                     f"{r['fitted_elbo']['mean']:.2f} | {g['mean']:.2f} ± {g['std']:.2f} | {g['median']:.2f} | "
                     f"{g['p10']:.2f} to {g['p90']:.2f} | {r['seconds']:.0f} s |")
    threads = doc.get("threads")
    lines += ["", f"Made by `{doc.get('command', 'python -m vae.amortization')}`"
              + (f" ({threads} CPU thread{'s' if threads != 1 else ''})." if threads else ".")]
    return lines


def update_results_md(path: Path = RESULTS_MD, json_path: Path = RESULTS_JSON) -> bool:
    """Put the section into an existing RESULTS.md (replacing an older one, before "## Provenance"); False if absent.

    `python -m vae.evaluate` writes the same section when it regenerates the whole file."""
    if not Path(path).is_file():
        return False
    text = Path(path).read_text()
    section = "\n".join(results_section(json_path)).strip("\n")
    if SECTION_TITLE in text:
        head, rest = text.split(SECTION_TITLE, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1:] if nxt >= 0 else ""
        text = head.rstrip("\n") + "\n\n" + section + ("\n\n" + tail if tail else "\n")
    elif "\n## Provenance" in text:
        head, tail = text.split("\n## Provenance", 1)
        text = head.rstrip("\n") + "\n\n" + section + "\n\n## Provenance" + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    Path(path).write_text(text)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae.amortization", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", help="VAE checkpoint name (repeat; default vae-z2 and vae-z20)")
    p.add_argument("--n", type=int, default=100, help="test digits to fit (the first n)")
    p.add_argument("--steps", type=int, default=FitConfig.steps)
    p.add_argument("--samples", type=int, default=FitConfig.samples)
    p.add_argument("--lr", type=float, default=FitConfig.lr)
    p.add_argument("--eval-samples", type=int, default=FitConfig.eval_samples)
    p.add_argument("--seed", type=int, default=FitConfig.seed)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", default=str(RESULTS_JSON), help="JSON file to write")
    p.add_argument("--no-results-md", action="store_true", help="do not update checkpoints/RESULTS.md")
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    models = args.model or ["vae-z2", "vae-z20"]
    config = FitConfig(steps=args.steps, samples=args.samples, lr=args.lr, eval_samples=args.eval_samples,
                       seed=args.seed)
    try:
        config.validate()
        if not 1 <= args.n <= 10000:
            raise AmortizationError(f"--n must be in 1..10000, got {args.n}")
        results = []
        for name in models:
            r = measure(name, args.n, config)
            g = r["gap"]
            print(f"{name}: encoder ELBO {r['encoder_elbo']['mean']:.2f}, fitted {r['fitted_elbo']['mean']:.2f}, "
                  f"gap {g['mean']:.2f} ± {g['std']:.2f} nats (median {g['median']:.2f}, {r['images']} digits, "
                  f"{r['seconds']:.0f} s)")
            results.append(r)
    except (AmortizationError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    command = "python -m vae.amortization " + " ".join(
        sum((["--model", m] for m in models), []) + ["--n", str(args.n)]
        + [f"--{k.replace('_', '-')} {v}" for k, v in asdict(config).items() if v != getattr(FitConfig, k)])
    doc = {"config": asdict(config), "command": command.strip(), "threads": torch.get_num_threads(),
           "results": results}
    out = Path(args.out)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out}")
    if not args.no_results_md and out.resolve() == RESULTS_JSON.resolve() and update_results_md():
        print(f"updated {RESULTS_MD.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
