"""The compiled rule layer must return exactly the Python engine's analyses (floats included)."""

import csv
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from classifier import rule_kernel
from classifier.combiner import RULE_FEATURES, rule_features
from classifier.criteria_table import SLOTS, CriteriaTable
from classifier.rule_engine import KERNEL_MIN_TEXTS

CORPUS = Path(__file__).resolve().parent.parent / "datasets" / "incidents.csv"
# Edge cases for the character handling (as in test_text_model.py).
TRICKY = ["", "a", "   ", "İstanbul café naïve — ﬁle x_y __ 12 3", "broken bytes \udcff\udcfe ab",
          "Ünïcödé wörds ünd ÀÉÎ ²³ ½ ٣٤ 漢字テスト", "🙂🙂 emoji GRU", "ΣΑΣ hospital Σ", "tabs\tand\nnewlines  APT28",
          "other\u00a0white\u2028space ransomware", "x" * 30000 + " Lazarus stole crypto"]


@pytest.fixture(scope="module")
def engine(layer):
    assert layer.engine.compiled() is not None, "numba is a dependency: the compiled rule layer must load"
    return layer.engine


def _assert_same(engine, texts):
    assert len(texts) >= KERNEL_MIN_TEXTS
    compiled = engine.compiled().analyse_many(texts)
    expected = [engine.analyse(text) for text in texts]
    for text, got, want in zip(texts, compiled, expected):
        assert got == want, text
    # The table batches route and write from, built from the codes without the objects.
    table = engine.compiled().table(texts)
    assert _cells(table) == _cells(CriteriaTable.from_analyses(expected, texts))
    # The table's derived columns, which the routing policy reads, mean what Analysis's properties do.
    assert table.state_involvement.tolist() == [a.state_involvement for a in expected]
    assert [table.vocabulary[code] for code in table.stated_motive] == [a.stated_motive for a in expected]
    assert table.analyses == expected


def _assert_same_on_cases(engine, cases):
    """``_assert_same`` on a few hand-written texts, repeated up to the batch size from which the
    compiled layer serves."""
    _assert_same(engine, cases * (KERNEL_MIN_TEXTS // len(cases) + 1))


def _cells(table):
    """A table's content by value names, row by row (its codes differ with the vocabulary)."""
    return [([table.value(row, slot) if table.values[row, slot] >= 0 or slot == 2 else None
              for slot in range(len(SLOTS))],
             table.confidence[row].tolist(), table.first_start[row].tolist(), table.first_end[row].tolist(),
             bool(table.motive_presumed[row]), table.found(row)) for row in range(len(table))]


def _corpus_texts():
    with open(CORPUS, newline="", encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def test_kernel_equals_engine_on_the_corpus(engine):
    _assert_same(engine, _corpus_texts())


def _phrases(engine, rng, n):
    """Rule phrases as they might appear in text: original case, upper case, or folded."""
    keys = list(engine.matcher.keys.items())
    out = []
    for key, (_, _, _, payloads) in rng.sample(keys, n):
        exact = next((phrase for phrase, _ in payloads if phrase is not None), None)
        out.append(rng.choice([key, key.upper(), key.title(), exact or key]))
    return out


FILLERS = ["no", "not", "denied", "ruled out", "but", ",", ";", ".", "and", "the", "by", "of", "-", "—", "group",
           "crew", "affiliates", "İ", "Σ", "🙂", "\n", "x_y", "ß", "’s", "no doubt", "could not rule out", "not only",
           "was not behind", "said it", "had nothing to do with"]


def _dense_mixes(engine, n=400, seed=7):
    """Texts packed with overlapping phrases, triggers, clause breaks and odd characters."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        words = _phrases(engine, rng, rng.randint(1, 25)) + rng.choices(FILLERS, k=rng.randint(0, 25))
        rng.shuffle(words)
        texts.append(rng.choice([" ", "", "-", " , "]).join(words))
    return texts + TRICKY


@pytest.mark.parametrize("longer_lower_case", [False, True])
def test_kernel_folds_texts_beyond_ascii_together_as_the_engine_folds_each(engine, longer_lower_case):
    # Texts beyond ASCII are lowered together, joined by newlines; a chunk with a character whose
    # lower case is longer ("İ") folds them one by one instead. Both must equal the engine.
    others = ["APT28’s spear-phishing hit a ministry — GRU suspected", "ΣΑΣ hospital Σ",
              "ransomware on a water‐utility", "ΟΔΟΣ’ Lazarus stole crypto", "café attack by a gang"]
    if longer_lower_case:
        others.append("İstanbul municipality hit by ransomware")
    plain = ["A gang encrypted a dental practice's records.", "Sandworm wiped a power grid's servers."]
    texts = [text for pair in zip(plain * 40, others * 40) for text in pair]
    _assert_same(engine, texts)


def test_kernel_equals_engine_on_dense_mixes_of_rule_phrases(engine):
    _assert_same(engine, _dense_mixes(engine))


def test_kernel_equals_engine_where_enforcement_sets_agencies_aside(engine):
    """The enforcement branch: agencies set aside, kept beside a proxy signal, a State-backed name
    or a State-link cue, and left alone without a criminal actor."""
    cases = [
        "The security service arrested members of a ransomware gang.",
        "The FSB raided a ransomware gang and seized its servers; the gang worked for the FSB.",
        "Police and military intelligence dismantled a Lazarus laundering ring and a carding gang.",
        "Europol seized the servers of a Kremlin-linked ransomware gang; GRU officers were not involved.",
        "Police arrested a GRU officer who had planted malware at a water utility.",
        "Intelligence officers arrested hacktivists who defaced ministry sites; no arrests followed in Minsk.",
        "Kazakh security service officers arrested an administrator of a shop selling bank logins.",
        "Crew members were detained by the security service and by Europol; the FSB paid them, by all accounts.",
        "The security service, after a long inquiry, finally arrested the carders who sold stolen cards.",
        "Estonia's security police arrested a man who spied for the GRU for money.",
        "Chinese state security officers detained an activist and installed spyware on his phone.",
    ]
    _assert_same_on_cases(engine, cases)


def test_kernel_equals_engine_where_agencies_are_victims(engine):
    """The victim branch: assets before the agency (within the gap, beyond it, behind "by" or a
    clause break) and right after it, beside enforcement and proxy cases."""
    cases = [
        "Hacktivists knocked the public web page of the Central Intelligence Agency offline.",
        "An unknown group copied data of the Russian FSB.",
        "The GCHQ website went down; the NSA's servers did not.",
        "The website of the ministry was defaced by the GRU.",
        "The website of the ministry, it emerged. The GRU did it.",
        "Hacktivists leaked files from a supplier of Russia's Federal Security Service (FSB).",
        "The security service arrested members of a gang that sold data of the security service.",
        "Criminals reused NSA exploits; the gang worked for the SVR.",
        "The servers of the long-named regional ministry of transport and the GRU were hit.",
        "FSB officers stole data from the bank.",
        "Hacktivists breached SyTech, an FSB contractor, and leaked its project files.",
        "Networks of three banks were breached on behalf of the MSS; the GRU was attacked for the FSB.",
        "Crews targeted, at the request of the SVR, a ministry; others attacked the NSA by night.",
        "Mercenaries launched an attack on behalf of the FSB against a Ukrainian bank.",
        "The power grid was attacked and the GRU later claimed it, as the FSB watched.",
        "Criminals stole the files of a caterer for the FSB; a crew leaked emails of a contractor for the NSA.",
    ]
    _assert_same_on_cases(engine, cases)


def test_kernel_equals_engine_where_everyday_phrases_hide_state_words(engine):
    """Phrase cues vote for nothing and hide the State words inside them; the same words outside
    such a phrase, or overlapping one without lying inside it, still count."""
    cases = [
        "Anonymous hacked a private intelligence firm; the NSA later said the firm was careless.",
        "A crew hit a vendor of cyber security services and the security service investigated.",
        "State-backed media sites went dark; state-backed hackers were blamed by a rival State.",
        "A cryptominer rode an NSA exploit, leaked NSA tools and the NSA scandal's fallout.",
        "The Russian military unit whose data was leaked; the sovereign territory was defended.",
        "Bangladesh Cyber Army and a cyber army of the state traded blows with netizens.",
    ]
    _assert_same_on_cases(engine, cases)


def test_kernel_equals_engine_where_an_agency_employs_an_insider(engine):
    """The employer branch: a staff word after the agency counts only where an insider cue fired."""
    cases = [
        "An NSA contractor copied classified files and leaked them to a journalist.",
        "A GCHQ analyst was jailed for taking classified documents home.",
        "NSA employees developed the exploit that later leaked.",
        "A CIA software engineer leaked classified tools; the FSB officers arrested a rogue insider.",
        "The FSB contractor leaked secret files while GRU officers hacked the ministry.",
        "A rogue insider leaked classified files; the FSB employees then hacked the ministry.",
        "A rogue insider at the agency, an NSA contractor, copied files.",
        "An NSA contractor " + "and " * 40 + "a whistleblower.",
        "Edward Snowden, an NSA contractor, leaked classified documents to journalists.",
        "The NSA analyst; then someone leaked classified files.",
    ]
    _assert_same_on_cases(engine, cases)


def test_kernel_equals_engine_where_agencies_speak(engine):
    """The speaker branch: a reporting verb after the agency (within the gap, beyond it, behind a
    comma, "by" or a clause break, hidden in "said it") and "according to" before it, beside
    enforcement and victims."""
    cases = [
        "The NSA warned that ransomware gangs are exploiting Citrix gateways at hospitals.",
        "GCHQ's NCSC said a criminal gang had encrypted the college's servers.",
        "The NSA and the FBI said Russian GRU hackers used a new Linux malware called Drovorub.",
        "The GRU, the NSA said, broke into the ministry's mail servers.",
        "GRU hackers, the NSA and FBI said, broke into the ministry's mail servers.",
        "Iran's IRGC said it had hacked the ministry; the FSB said that it saw nothing; the SVR is said to.",
        "According to the FBI, the GRU did it; the NSA and the FBI warned banks.",
        "According to Ukraine's security service, a gang sold card data; the FSB arrested two.",
        "The FSB on a quiet Tuesday morning announced nothing; the SVR was blamed by the NSA.",
        "According to the long-named regional security service of Ukraine, the GRU did it.",
        "The website of the FSB went down, the FSB said; according to the NSA, hacktivists did it.",
        "The NSA. Said nothing. According to: the GRU.",
    ]
    _assert_same_on_cases(engine, cases)


def test_kernel_equals_engine_where_a_text_denies_the_attack(engine):
    """The fourth signal slot: a denial of an attack (not negatable itself), beside other signals,
    a named actor, and a negation trigger before it."""
    cases = [
        "A software bug caused a nationwide outage of airline check-in systems; no cyber attack was involved.",
        "The blackout was not a cyberattack, but Chinese-linked intruders had probed the grid.",
        "Police arrested two men; the outage was not caused by hackers.",
        "Not a cyber incident: the wiper posing as ransomware was a drill, and no cyberattacks followed.",
        "Officials never said it was not the result of a cyber attack by the GRU.",
    ]
    _assert_same_on_cases(engine, cases)


def test_kernel_equals_engine_where_a_state_link_overrides_a_denial(engine):
    """Criterion.against: the compiled layer's results carry the same denials the engine's do."""
    cases = [
        "Police ruled out a foreign government, but researchers later linked the wiper to Sandworm.",
        "No evidence of Russian intelligence involvement was found; later the GRU was charged.",
        "Sandworm was not behind the outage, officials said; APT28 was.",
        "No State link, police say; Lazarus is blamed all the same. Not the RGB, not Kimsuky.",   # none wins
        "Police ruled out a foreign government and arrested two men.",
    ]
    _assert_same_on_cases(engine, cases)
    assert [len(a.criteria["state_sponsorship"].against) for a in engine.compiled().analyse_many(cases * 13)[:5]] \
        == [1, 1, 1, 0, 0]


def test_kernel_equals_engine_where_an_everyday_name_holds_an_alias(engine):
    """[stoplist].names: the name hides the alias inside it and nothing else."""
    cases = [
        "LockBit ransomware hit Royal Mail; the Royal ransomware gang was not involved.",
        "Banking malware in Google Play apps; the Play ransomware crew leaked files.",
        "Royal Road RTF exploits were used by APT groups against the Royal Navy.",
        "royal mail ransomware Royal Mail ROYAL MAIL Royal",
    ]
    _assert_same_on_cases(engine, cases)


def test_kernel_equals_engine_where_several_states_are_named(engine):
    """The sponsor: the State whose votes score highest, the first named on a tie."""
    cases = [
        "Iranian groups were also seen, but APT28, a unit of Russia's GRU, hacked the parliament.",
        "APT28, a unit of Russia's GRU, hacked the parliament; Iranian groups were also seen.",
        "Operators linked to China and operators linked to Iran both scanned the ministry.",
        "Stuxnet, attributed to US and Israeli intelligence, hit Natanz; Iran blamed Israel.",
        "A China-linked crew, then North Korean hackers, then Russian GRU officers: APT41, Lazarus, Sandworm.",
    ]
    _assert_same_on_cases(engine, cases)


def run_bounds_checked():
    """The equality checks above, in a process where numba checks every index."""
    from classifier.api import RuleLayer

    engine = RuleLayer().engine
    assert engine.compiled() is not None
    _assert_same(engine, _corpus_texts() + _dense_mixes(engine, seed=11))


def test_kernel_stays_within_its_arrays(tmp_path):
    """numba does not check indices, so a write past an array's end would corrupt memory silently.
    Run the kernel once compiled with NUMBA_BOUNDSCHECK=1 (in a fresh cache), where it raises."""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_rule_kernel as t; t.run_bounds_checked()"
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]


PIECES = list("ab -,.;İΣ🙂'\n") + ["no ", "GRU ", "apt28 ", "hospital ", "not ", "Lazarus ", "ransomware ", "Play "]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=30).map("".join),
                min_size=KERNEL_MIN_TEXTS, max_size=KERNEL_MIN_TEXTS + 4))
def test_kernel_equals_engine_on_any_text(engine, texts):
    _assert_same(engine, texts)


def test_automaton_finds_every_occurrence_of_every_key():
    rng = random.Random(3)
    keys = sorted({"".join(rng.choices("abc ", k=rng.randint(1, 5))) for _ in range(40)})
    alphabet, delta, node_key, dict_link = rule_kernel._automaton(keys)
    for _ in range(50):
        text = "".join(rng.choices("abcd ", k=60))
        found, state = set(), 0
        for pos, ch in enumerate(text):
            state = delta[state, alphabet[ord(ch)] if ord(ch) < len(alphabet) else 0]
            if state >= 0:
                assert node_key[state] < 0 and dict_link[state] == 0   # a state that emits is complemented
                continue
            state = ~state
            k = state if node_key[state] >= 0 else dict_link[state]
            assert k > 0
            while k > 0:
                found.add((pos + 1 - len(keys[node_key[k]]), keys[node_key[k]]))
                k = dict_link[k]
        expected = {(i, key) for key in keys for i in range(len(text)) if text.startswith(key, i)}
        assert found == expected


def test_few_texts_do_not_load_the_compiled_layer(rules):
    from classifier.rule_engine import RuleEngine

    fresh = RuleEngine(rules)
    assert fresh.analyse_many(["GRU hackers hit a grid."] * (KERNEL_MIN_TEXTS - 1))
    assert fresh._compiled is False


def test_rule_features_weigh_route_and_reason_by_confidence():
    rows = rule_features(["intersection", "undetermined"], ["state-actor-in-crime", ""], np.array([0.7, 0.01]))
    expected = np.zeros((2, len(RULE_FEATURES)))
    expected[0, RULE_FEATURES.index("rule_route=intersection")] = 0.7
    expected[0, RULE_FEATURES.index("rule_reason=state-actor-in-crime")] = 0.7
    expected[1, RULE_FEATURES.index("rule_route=undetermined")] = 0.05   # a floor: the route stays visible
    assert np.array_equal(rows, expected)


def test_without_numba_the_python_engine_serves(rules, monkeypatch):
    """Where the compiled layer cannot load (numba missing), batches still get the same analyses."""
    import sys

    from classifier.rule_engine import RuleEngine

    monkeypatch.setitem(sys.modules, "classifier.rule_kernel", None)   # import fails as if absent
    fresh = RuleEngine(rules)
    texts = ["GRU hackers wiped a grid operator's servers.", "No evidence of State involvement was found."] * 40
    assert fresh.analyse_many(texts) == [fresh.analyse(t) for t in texts]
    assert fresh.compiled() is None
    table = fresh.analyse_table(texts)
    assert table.analyses == [fresh.analyse(t) for t in texts]
    assert table.value(0, 0) == "state" and table.value(1, 1) == "none"


def test_kernel_equals_engine_where_an_actors_name_holds_cue_words(engine):
    """An actor's name hides the words of any criterion inside it (DarkHotel's alias "Tungsten
    Bridge" is no crypto bridge, "Silent Ransom Group" states no motive of its own), in both layers."""
    cases = [
        "Tungsten Bridge sent spear-phishing emails to hotel guests on business trips.",
        "The Silent Ransom Group phoned law firms' staff and walked them into installing remote tools.",
        "Spies stole money through a DeFi bridge.",
    ]
    _assert_same_on_cases(engine, cases)
    motive = engine.analyse(cases[0]).criteria["motive"]
    assert motive.value == "espionage" and "Bridge" not in [e.text for e in engine.analyse(cases[0]).hits]
