"""Route shares of the reporting being classified, when they differ from the corpus's.

The combiner's probabilities are calibrated on the training corpus, whose route shares were set
by its writers (46 % cybercrime, 28 % international security, 26 % intersection). A feed of
State-operation trackers is nearly all international security; a police feed nearly all crime.
Bayes' rule gives the probabilities for another mix of routes: multiply each route's probability
by its share in the feed over its share in the corpus, and normalise (Saerens, Latinne and
Decaestecker, "Adjusting the outputs of a classifier to new a priori probabilities", Neural
Computation 14, 2002). The same paper's EM procedure estimates a feed's shares from its
unlabelled texts: the shares are the mean of the re-weighted probabilities, re-weighted by those
shares, until they stop moving.

Shares are given as ``{"cybercrime": 0.1, ...}``, written on the command line as
``cybercrime=0.1,international-security=0.85,intersection=0.05``.
"""
from __future__ import annotations

import numpy as np

from .ruleset import ROUTES


# The least share an estimate gives a route: an estimate near 0 says a route is rare in the feed,
# not that it never occurs, and a share of 0 would make that route impossible for every text.
MIN_SHARE = 0.005


class PriorsError(ValueError):
    """A share specification that cannot be used (unknown route, negative share, ...)."""


def training_shares(manifest: dict, classes: list[str]) -> np.ndarray:
    """The route shares of the corpus a model was trained on, in ``classes`` order, from the
    row counts its manifest records (``training_data.routes``)."""
    counts = manifest.get("training_data", {}).get("routes")
    if not counts or any(route not in counts for route in classes):
        raise PriorsError("the model's manifest does not record the route counts of its training data "
                          "(training_data.routes); retrain it with `cyberroute train` to use route shares")
    shares = np.array([counts[route] for route in classes], dtype=float)
    return shares / shares.sum()


def parse_shares(spec: str, classes: list[str]) -> dict[str, float]:
    """``"cybercrime=0.1,international-security=0.85,intersection=0.05"`` as a dict, normalised
    to sum to 1. Every route must be given, each share a number of 0 or more, not all 0."""
    if not spec.strip():   # most often `--priors "$(cyberroute priors FILE)"` after that command failed
        raise PriorsError("no shares given (an empty value); if they were to come from "
                          "$(cyberroute priors FILE), that command printed none: see its error above")
    shares: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        route, sep, value = part.partition("=")
        route = route.strip()
        if not sep:
            raise PriorsError(f"{part!r} is not route=share (for example cybercrime=0.6)")
        if route not in classes:
            raise PriorsError(f"{route!r} is not a route " + ("this model was trained on " if route in ROUTES else "")
                              + f"(one of {', '.join(classes)})")
        if route in shares:
            raise PriorsError(f"{route} is given twice")
        try:
            shares[route] = float(value)
        except ValueError:
            raise PriorsError(f"the share of {route}, {value.strip()!r}, is not a number") from None
        if not np.isfinite(shares[route]) or shares[route] < 0:
            raise PriorsError(f"the share of {route}, {value.strip()!r}, must be a number of 0 or more")
    missing = [route for route in classes if route not in shares]
    if missing:
        raise PriorsError(f"no share given for {', '.join(missing)} (give all of {', '.join(classes)})")
    total = sum(shares.values())
    if total <= 0:
        raise PriorsError("the shares are all 0")
    return {route: shares[route] / total for route in classes}


def format_shares(shares: dict[str, float]) -> str:
    """The inverse of ``parse_shares``: ``cybercrime=0.100,...`` (three decimals)."""
    return ",".join(f"{route}={share:.3f}" for route, share in shares.items())


def reweight(proba: np.ndarray, train: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Probabilities (one row per text, columns in the order of ``train`` and ``target``) for a
    feed whose route shares are ``target`` instead of ``train``."""
    weighted = proba * (np.asarray(target, dtype=float) / np.asarray(train, dtype=float))
    totals = weighted.sum(axis=1, keepdims=True)
    # A text whose only probable routes get share 0 keeps its probabilities rather than dividing by 0.
    return np.divide(weighted, totals, out=np.array(proba, dtype=float), where=totals > 0)


def at_least(shares: np.ndarray, floor: float = MIN_SHARE) -> np.ndarray:
    """``shares`` with none below ``floor``, still summing to 1."""
    shares = np.maximum(np.asarray(shares, dtype=float), floor)
    return shares / shares.sum()


def sample_warning(n_texts: int) -> str | None:
    """What to say of an estimate from ``n_texts`` texts, or None when there are enough.

    EM over a handful of texts runs to the extremes (two texts can give 0.005/0.005/0.990)."""
    if n_texts < 50:
        return (f"an estimate from {n_texts} text{'' if n_texts == 1 else 's'} is not worth using: so few "
                f"push the shares to the extremes; a few hundred are needed")
    if n_texts < 200:
        return f"an estimate from {n_texts} texts is rough; a few hundred are better"
    return None


def estimate_shares(proba: np.ndarray, train: np.ndarray, max_iter: int = 1000, tol: float = 1e-6) -> np.ndarray:
    """The route shares of the texts behind ``proba``, estimated without labels by EM.

    Parameters
    ----------
    proba : array of shape (n_texts, n_routes)
        The model's probabilities, calibrated on the training corpus.
    train : array of shape (n_routes,)
        The training corpus's route shares.
    max_iter, tol : EM stops after ``max_iter`` rounds or when no share moves by ``tol``.

    Returns
    -------
    array of shape (n_routes,), summing to 1.
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or len(proba) == 0:
        raise PriorsError("no text to estimate the route shares from")
    shares = np.asarray(train, dtype=float)
    for _ in range(max_iter):
        updated = reweight(proba, train, shares).mean(axis=0)
        if np.abs(updated - shares).max() < tol:
            return updated
        shares = updated
    return shares
