"""cyberroute: route a cyber-incident description to criminal justice, international security, or both.

>>> from classifier import classify
>>> result = classify("A ransomware gang encrypted a dental chain's records and demanded bitcoin.")
>>> result.route
'cybercrime'

The public API: ``Classifier`` (a classifier on given rules, model and priors), ``classify``,
``classify_frame``, ``Result`` and ``evidence_frame``; ``load_rules`` and ``load_model`` for the
rules directory and the model on their own. Plots for notebooks are in ``classifier.plots``.
"""

__version__ = "0.1.0"
__all__ = ["Classifier", "Result", "classify", "classify_frame", "evidence_frame", "load_rules", "load_model",
           "__version__"]


def __getattr__(name):
    # Imported lazily so `import classifier` (and the CLI's start-up) stays cheap.
    if name in ("Classifier", "classify", "classify_frame"):
        from . import api

        return getattr(api, name)
    if name in ("Result", "evidence_frame"):
        from . import result

        return getattr(result, name)
    if name == "load_rules":
        from .ruleset import load_rules

        return load_rules
    if name == "load_model":
        from .model_store import load_model

        return load_model
    raise AttributeError(f"module 'classifier' has no attribute {name!r}")


def __dir__():
    # The lazily imported names too, so that help(), dir() and tab completion show the API.
    return sorted({*globals(), *__all__})
