"""Properties over arbitrary text: classify never raises, returns a valid result whose evidence
spans index the input exactly, and is deterministic."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier.ruleset import ALL_ROUTES, CRITERIA

# Text mixing arbitrary characters with words the rules look for, so that cues fire often.
WORDS = st.sampled_from(["GRU", "ransomware", "gang", "no evidence of", "State", "hospital", "bitcoin",
                         "Sandworm", "not", "nationwide", "posing as ransomware", "İ", "ß", "\u2019", "-", "\n"])
TEXTS = st.one_of(st.text(max_size=300), st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=40).map(" ".join))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_classify_any_text(classifier, text):
    first = classifier.classify(text)
    assert first.route in ALL_ROUTES
    assert 0.0 <= first.confidence <= 1.0
    assert set(first.criteria) == set(CRITERIA)
    for criterion in list(first.criteria.values()) + list(first.signals.values()):
        for span in criterion.evidence:
            assert text[span.start:span.end] == span.text
    json.dumps(first.to_dict())
    assert classifier.classify(text).to_dict() == first.to_dict()
