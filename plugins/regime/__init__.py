"""The ``regime`` plugin: Gaussian HMM market regimes, fitted walk-forward and
filtered online (no look-ahead), every fit logged as ``RegimeModelFitted``."""

from .config import RegimeConfig
from .core import RegimeCore
from .fit import FitError, FitSettings, fit_model
from .forward import ForwardFilter
from .shell import RegimePlugin

__all__ = [
    "FitError",
    "FitSettings",
    "ForwardFilter",
    "RegimeConfig",
    "RegimeCore",
    "RegimePlugin",
    "fit_model",
]
