"""Outputs of the intelligence plugins (regime detection, embeddings) and model cards.

A model that a plugin or command fits is logged as an event whose
``model_card()`` describes it for the model registry (``kernel.registry``);
those events live under ``keel.model.>`` so the registry's projection reads
them all from one subject tree.
"""

from __future__ import annotations

import hashlib

import msgspec

from .base import Event, Price, Symbol

__all__ = [
    "CorrelationEdge",
    "CorrelationGraphComputed",
    "EmbeddingComputed",
    "ModelCard",
    "ModelRegistered",
    "RegimeInferred",
    "RegimeModelFitted",
]


class RegimeInferred(Event, frozen=True, kw_only=True, tag="intel.regime"):
    """Filtered (causal) regime posterior p(z_t | x_1..t) at ``ts``, one per bar.

    ``probabilities[k]`` is the posterior of state ``k`` (states in the
    model's stable label order, named by ``labels[k]``); ``regime`` is the
    most likely state, ``label`` its name and ``confidence`` its probability.
    ``model`` and ``model_version`` name the logged model that produced it.
    Probabilities are not money: floats.
    """

    instrument: Symbol
    regime: int
    label: str
    probabilities: list[float]
    model: str = ""
    confidence: float = 0.0
    model_version: int = 0
    labels: list[str] = []

    def subject(self) -> str:
        return f"keel.intel.regime.{self.instrument}"


class EmbeddingComputed(Event, frozen=True, kw_only=True, tag="intel.embedding"):
    """The market state of ``instrument`` at ``ts`` (a bar's close) as a vector.

    ``vector`` holds float32 values (widened exactly to float64) computed from
    the ``window`` bars whose first opened at ``window_start_ts``; bars after
    ``ts`` never enter it. ``model``/``model_version`` name the registered
    model and ``model_sha256`` its weights, so a replay loads exactly that
    model. ``close`` is the bar's close: forward returns are measured from it.
    """

    instrument: Symbol
    model: str
    window_start_ts: int
    vector: list[float]
    model_version: int = 0
    model_sha256: str = ""
    window: int = 0
    close: Price | None = None

    def subject(self) -> str:
        return f"keel.intel.embedding.{self.instrument}"


class CorrelationEdge(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """Pearson correlation of two instruments' log returns over the window (a < b)."""

    a: str
    b: str
    correlation: float
    #: Returns both instruments had in the window.
    observations: int


class CorrelationGraphComputed(Event, frozen=True, kw_only=True,
                               tag="intel.correlation_graph"):
    """Rolling return correlations between instruments as of ``as_of_ts`` (bars closed by
    then), over the last ``window`` bar timestamps, with the graph's communities
    (greedy modularity on edges with correlation >= ``community_threshold``) and
    eigenvector centrality (weights |correlation|). Correlations are not money: floats.
    """

    as_of_ts: int
    window: int
    instruments: list[str]
    edges: list[CorrelationEdge]
    communities: list[list[str]] = []
    centrality: dict[str, float] = {}
    community_threshold: float = 0.0

    def subject(self) -> str:
        return f"keel.intel.graph.w{self.window}"
class ModelCard(msgspec.Struct, frozen=True, kw_only=True):
    """What the model registry keeps of one model version.

    ``parameters`` and ``metrics`` are JSON objects (text). The weights are
    either inline (``weights``) or a file at ``weights_path``, relative to the
    node's data dir; ``weights_sha256`` is the SHA-256 of those bytes, so a
    replay or an export can prove it has exactly the model the run used.
    ``data_start_ts``/``data_end_ts`` bound the training data (event time,
    ns) and ``data_hash`` is the SHA-256 of that data.
    """

    name: Symbol
    version: int
    kind: str
    parameters: str = "{}"
    data_start_ts: int = 0
    data_end_ts: int = 0
    data_hash: str = ""
    metrics: str = "{}"
    weights: bytes = b""
    weights_path: str = ""
    weights_sha256: str = ""
    libraries: dict[str, str] = {}


class ModelRegistered(Event, frozen=True, kw_only=True, tag="intel.model_registered"):
    """A model version registered by a plugin or command (any kind of model)."""

    card: ModelCard

    def subject(self) -> str:
        return f"keel.model.registered.{self.card.name}"

    def model_card(self) -> ModelCard:
        return self.card


class RegimeModelFitted(Event, frozen=True, kw_only=True, tag="intel.regime_model"):
    """A Gaussian HMM regime model fitted on bars before ``ts`` (walk-forward or offline).

    Inference uses only the latest logged one, so a replay reproduces every
    ``RegimeInferred`` from the log without refitting. States are in stable
    label order: ``permutation[raw] = k`` maps the fitting library's state
    ``raw`` to state ``k`` (canonical order by volatility, then matched to
    the previous model). Emission parameters live in standardised feature
    space: ``x_std = (x - feature_mean) / feature_std``, statistics of the
    training window only. ``score`` is the mean log-likelihood per bar on
    the training window (the best of ``n_init`` seeded fits, seeds from
    ``seed``).
    """

    instrument: Symbol
    model: Symbol
    version: int
    n_states: int
    features: list[str]
    feature_mean: list[float]
    feature_std: list[float]
    covariance_type: str
    startprob: list[float]
    transmat: list[list[float]]
    #: K x D, standardised feature space.
    means: list[list[float]]
    #: K x D x D (full matrices whatever ``covariance_type``), standardised space.
    covars: list[list[list[float]]]
    labels: list[str]
    permutation: list[int]
    train_start_ts: int
    train_end_ts: int
    train_bars: int
    data_hash: str
    seed: int
    n_init: int
    score: float
    libraries: dict[str, str] = {}
    #: Bars in the realized-volatility window of the features.
    rv_window: int = 20
    #: ``walk_forward`` (the live plugin's refit) or ``offline`` (``keel regime fit``).
    source: str = "walk_forward"
    #: Whether EM also started once from the previous model's parameters.
    warm_start: bool = False

    def subject(self) -> str:
        return f"keel.model.regime.{self.instrument}"

    def weights_json(self) -> bytes:
        """The fitted arrays as canonical JSON: the model's "weights" in the registry."""
        return msgspec.json.encode({
            "covars": self.covars,
            "feature_mean": self.feature_mean,
            "feature_std": self.feature_std,
            "means": self.means,
            "startprob": self.startprob,
            "transmat": self.transmat,
        })

    def model_card(self) -> ModelCard:
        weights = self.weights_json()
        parameters = {
            "covariance_type": self.covariance_type,
            "features": self.features,
            "instrument": self.instrument,
            "labels": self.labels,
            "n_init": self.n_init,
            "n_states": self.n_states,
            "permutation": self.permutation,
            "rv_window": self.rv_window,
            "seed": self.seed,
            "source": self.source,
            "warm_start": self.warm_start,
        }
        metrics = {"score": self.score, "train_bars": self.train_bars}
        return ModelCard(
            name=self.model,
            version=self.version,
            kind="regime.gaussian_hmm",
            parameters=msgspec.json.encode(parameters).decode(),
            data_start_ts=self.train_start_ts,
            data_end_ts=self.train_end_ts,
            data_hash=self.data_hash,
            metrics=msgspec.json.encode(metrics).decode(),
            weights=weights,
            weights_sha256=hashlib.sha256(weights).hexdigest(),
            libraries=dict(self.libraries),
        )
