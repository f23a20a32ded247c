"""Autoencoder and variational autoencoder for 28x28 grayscale images, with one interface.

Both models map an image x to a posterior over z (`encode`), z to Bernoulli logits over the 784 pixels (`decode`),
and x to a `ModelOutput` (`forward`). The plain AE's posterior is a point: `logvar` is None. beta-VAE is not a class
here: beta is a weight in the loss (see `vae.losses`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import torch
from torch import nn

IMAGE_SHAPE = (1, 28, 28)
N_PIXELS = 28 * 28

MODEL_KINDS = ("ae", "vae")
ARCHITECTURES = ("mlp", "conv")
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh}


class ConfigError(ValueError):
    """A model or training setting is out of range or unknown."""


@dataclass
class ModelConfig:
    kind: str = "vae"  # "ae" (deterministic code) or "vae" (Gaussian posterior q(z|x) = N(mu, diag(exp(logvar))))
    latent_dim: int = 2  # size of z
    arch: str = "mlp"  # "mlp" (fully connected) or "conv" (two stride-2 convolutions each way)
    hidden: tuple[int, ...] = (512, 256)  # MLP: encoder widths from the image inward; the decoder mirrors them
    channels: tuple[int, int] = (32, 64)  # conv: channels after the first and the second stride-2 convolution
    conv_hidden: int = 256  # conv: width of the fully connected layer between the feature map and z
    activation: str = "relu"  # hidden activation, one of ACTIVATIONS

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.channels = tuple(int(c) for c in self.channels)  # type: ignore[assignment]
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError with the valid choices when a field is out of range."""
        if self.kind not in MODEL_KINDS:
            raise ConfigError(f"Unknown model kind {self.kind!r}. Possible values: {', '.join(MODEL_KINDS)}.")
        if self.arch not in ARCHITECTURES:
            raise ConfigError(f"Unknown architecture {self.arch!r}. Possible values: {', '.join(ARCHITECTURES)}.")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"Unknown activation {self.activation!r}. Possible values: {', '.join(ACTIVATIONS)}.")
        if isinstance(self.latent_dim, bool) or not isinstance(self.latent_dim, int) or self.latent_dim < 1:
            raise ConfigError(f"latent_dim must be an integer >= 1, got {self.latent_dim!r}.")
        if self.arch == "mlp" and (not self.hidden or min(self.hidden) < 1):
            raise ConfigError(f"hidden must list one or more positive layer widths, got {self.hidden!r}.")
        if len(self.channels) != 2 or min(self.channels) < 1 or self.conv_hidden < 1:
            raise ConfigError(f"channels must be two positive counts and conv_hidden positive, got "
                              f"{self.channels!r} and {self.conv_hidden!r}.")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"Unknown model config fields {unknown}. Known fields: {', '.join(sorted(known))}.")
        return cls(**d)


class Posterior(NamedTuple):
    """q(z|x): mean and log-variance, each shape (batch_size, latent_dim). For the plain AE logvar is None."""

    mu: torch.Tensor
    logvar: torch.Tensor | None


class ModelOutput(NamedTuple):
    """What `forward` returns, the same for AE and VAE.

    logits: (batch_size, 1, 28, 28) Bernoulli logits of p(x|z); mu, logvar: (batch_size, latent_dim) of q(z|x)
    (logvar None for the AE); z: (batch_size, latent_dim), the code that was decoded.
    """

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    z: torch.Tensor


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I), sigma = exp(logvar / 2) (Kingma and Welling 2014, section 2.4).

    Writing the sample as a deterministic function of (mu, logvar) and outside noise lets gradients flow to mu and
    logvar. Shapes: mu, logvar, eps (batch_size, latent_dim) -> z (batch_size, latent_dim).
    """
    if eps is None:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def _mlp(widths: list[int], activation: str) -> nn.Sequential:
    """Linear layers through `widths`, the activation between them but not after the last."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def build_encoder(config: ModelConfig) -> nn.Module:
    """Image (batch_size, 1, 28, 28) -> features (batch_size, 2 * latent_dim) for a VAE, latent_dim for an AE."""
    n_out = config.latent_dim * (2 if config.kind == "vae" else 1)
    act = ACTIVATIONS[config.activation]
    if config.arch == "mlp":
        return nn.Sequential(nn.Flatten(), _mlp([N_PIXELS, *config.hidden, n_out], config.activation))
    c1, c2 = config.channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 4, stride=2, padding=1), act(),  # 28 -> 14
        nn.Conv2d(c1, c2, 4, stride=2, padding=1), act(),  # 14 -> 7
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, config.conv_hidden), act(),
        nn.Linear(config.conv_hidden, n_out),
    )


def build_decoder(config: ModelConfig) -> nn.Module:
    """z (batch_size, latent_dim) -> Bernoulli logits (batch_size, 1, 28, 28)."""
    act = ACTIVATIONS[config.activation]
    if config.arch == "mlp":
        widths = [config.latent_dim, *reversed(config.hidden), N_PIXELS]
        return nn.Sequential(_mlp(widths, config.activation), nn.Unflatten(1, IMAGE_SHAPE))
    c1, c2 = config.channels
    return nn.Sequential(
        nn.Linear(config.latent_dim, config.conv_hidden), act(),
        nn.Linear(config.conv_hidden, c2 * 7 * 7), act(),
        nn.Unflatten(1, (c2, 7, 7)),
        nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), act(),  # 7 -> 14
        nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1),  # 14 -> 28
    )


class _Autoencoder(nn.Module):
    """Shared body of AE and VAE: an encoder, a decoder and the config that built them."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config)
        self.decoder = build_decoder(config)

    @staticmethod
    def _as_images(x: torch.Tensor) -> torch.Tensor:
        """Accept (batch_size, 784) or (batch_size, 1, 28, 28); return the latter."""
        if x.dim() == 2 and x.shape[1] == N_PIXELS:
            return x.view(-1, *IMAGE_SHAPE)
        if x.dim() == 4 and tuple(x.shape[1:]) == IMAGE_SHAPE:
            return x
        raise ValueError(f"Expected images of shape (batch, 784) or (batch, 1, 28, 28), got {tuple(x.shape)}.")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (batch_size, latent_dim) -> Bernoulli logits (batch_size, 1, 28, 28); sigmoid gives pixel means."""
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"Expected z of shape (batch, {self.config.latent_dim}), got {tuple(z.shape)}.")
        return self.decoder(z)

    def encode(self, x: torch.Tensor) -> Posterior:  # pragma: no cover - overridden
        raise NotImplementedError


class AE(_Autoencoder):
    """Plain autoencoder: x -> z is a point, trained on reconstruction alone."""

    def encode(self, x: torch.Tensor) -> Posterior:
        return Posterior(self.encoder(self._as_images(x)), None)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ModelOutput:
        mu, _ = self.encode(x)
        return ModelOutput(self.decode(mu), mu, None, mu)


class VAE(_Autoencoder):
    """Variational autoencoder with a diagonal Gaussian posterior and a N(0, I) prior."""

    def encode(self, x: torch.Tensor) -> Posterior:
        h = self.encoder(self._as_images(x))
        mu, logvar = h.chunk(2, dim=1)
        return Posterior(mu, logvar)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ModelOutput:
        """Encode, draw one z = mu + sigma * eps (also in eval mode: the ELBO is an expectation over q), decode."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator=generator)
        return ModelOutput(self.decode(z), mu, logvar, z)


MODEL_CLASSES: dict[str, type[_Autoencoder]] = {"ae": AE, "vae": VAE}


def build_model(config: ModelConfig) -> _Autoencoder:
    """The model for `config.kind` (the config was validated when it was made)."""
    try:
        cls = MODEL_CLASSES[config.kind]
    except KeyError:
        raise ConfigError(f"Unknown model kind {config.kind!r}. Possible values: {', '.join(MODEL_CLASSES)}.") from None
    return cls(config)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "AE", "VAE", "ModelConfig", "ModelOutput", "Posterior", "ConfigError", "build_model", "reparameterize",
    "MODEL_KINDS", "ARCHITECTURES", "ACTIVATIONS", "n_parameters", "IMAGE_SHAPE", "N_PIXELS",
]
