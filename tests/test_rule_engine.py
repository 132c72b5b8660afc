"""The rule layer: each criterion positive, negative and negated; evidence spans exact."""

from __future__ import annotations

import pytest


def crit(layer, text, name):
    analysis, _ = layer.analyse(text)
    return analysis.criteria[name]


def spans_exact(text, criterion):
    return all(text[e.start:e.end] == e.text for e in criterion.evidence)


# -- actor_type -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Officers of Russia's military intelligence service broke into the agency's network.", "state"),
    ("A Chinese state-sponsored group stole design files from a shipyard.", "state-sponsored"),
    ("Moscow-linked operators stayed in the ministry's network for a year.", "state-sponsored"),
    ("A ransomware gang encrypted the firm's file servers and demanded payment.", "criminal"),
    ("Hacktivists defaced the city's website in protest against the new law.", "hacktivist"),
    ("A disgruntled former employee deleted the customer database after being dismissed.", "insider"),
])
def test_actor_type_positive(layer, text, expected):
    c = crit(layer, text, "actor_type")
    assert c.value == expected
    assert c.evidence and spans_exact(text, c)


@pytest.mark.parametrize("text", [
    "Sacked control-room technician sabotages a hydropower plant's SCADA from home.",
    "A fired IT worker wiped the dental chain's scheduling servers with an admin password nobody revoked.",
    "Police detained a former developer over the $20m taken from the exchange's hot wallet.",
    "A bank teller drained dormant accounts through shadow mobile-wallet links.",
    "The administrator was told his contract would not be renewed; four nights later the order system went dark.",
])
def test_staff_told_by_their_job_or_how_they_left_are_insiders(layer, text):
    c = crit(layer, text, "actor_type")
    assert c.value == "insider"
    assert c.evidence and spans_exact(text, c)


@pytest.mark.parametrize("text", [
    "The chief executive was fired after the ransomware gang leaked customer data.",
    "The chief executive was sacked after the ransomware gang leaked customer data.",
    "The retailer laid off 200 staff after a ransomware gang encrypted its tills.",
])
def test_staff_a_victim_lets_go_are_no_insiders_on_that_word_alone(layer, text):
    """Only a fired, sacked or dismissed member of staff is an insider cue, not the bare verb."""
    assert crit(layer, text, "actor_type").value == "criminal"


def test_actor_type_unknown_without_cues(layer):
    c = crit(layer, "The company's website was unavailable on Tuesday morning.", "actor_type")
    assert c.value == "unknown" and not c.evidence


def test_a_technique_is_not_an_actor(layer):
    """Phishing is how State units and criminals alike get in: it names no actor. A phishing kit
    or service, sold on the criminal market, does."""
    analysis, _ = layer.analyse("Spear-phishing emails reached staff at three think tanks.")
    assert analysis.criteria["actor_type"].value == "unknown"
    assert analysis.criteria["state_sponsorship"].value == "unknown"
    assert crit(layer, "Buyers of a phishing kit emptied the accounts.", "actor_type").value == "criminal"


def test_actor_from_gazetteer(layer):
    text = "Sandworm deployed a new wiper against a logistics firm."
    c = crit(layer, text, "actor_type")
    assert c.value in ("state", "state-sponsored")
    assert any(e.text == "Sandworm" for e in c.evidence)


def test_gazetteer_alias_matches_case_insensitively(layer):
    c = crit(layer, "Researchers said fancy bear was behind the phishing wave.", "actor_type")
    assert c.value in ("state", "state-sponsored")


@pytest.mark.parametrize("text", [
    "Stuxnet damaged centrifuges at Natanz.",
    "BlackEnergy malware was found at three Ukrainian power distributors.",
    "The SUNBURST backdoor reached thousands of networks through an update.",
])
def test_state_attributed_operations_name_their_actor(layer, text):
    """An operation or malware family tied to one State in public reporting is its actor's alias."""
    analysis, decision = layer.analyse(text)
    assert analysis.state_involvement and decision.route == "international-security"


def test_an_actors_usual_motive_is_presumed_not_stated(layer):
    """The gazetteer gives Lazarus's usual motive (financial); it fills the criterion, but only a
    motive the text gives routes the incident."""
    analysis, decision = layer.analyse("The Lazarus Group sent pandemic-themed lures to staff of a vaccine maker.")
    assert analysis.criteria["motive"].value == "financial" and analysis.motive_presumed
    assert analysis.stated_motive == "unknown" and decision.route == "international-security"
    analysis, decision = layer.analyse("Lazarus Group stole 100 million dollars from a crypto bridge.")
    assert not analysis.motive_presumed and analysis.stated_motive == "financial"
    assert decision.reason == "state-actor-in-crime"


def test_capitalised_alias_matches_run_together(layer):
    """"Cozy Bear" is also written "CozyBear"; the gazetteer need not list both."""
    c = crit(layer, "CozyBear sent spear-phishing emails to think tanks.", "actor_type")
    assert c.value in ("state", "state-sponsored") and c.evidence[0].text == "CozyBear"


@pytest.mark.parametrize("text, name, actor_type", [
    ("APT 41 stole COVID relief funds from a small-business agency.", "APT 41", "state-sponsored"),
    ("APT-41 broke into a video-game studio's build servers.", "APT-41", "state-sponsored"),
    ("FIN 7 planted card skimmers' malware in restaurant tills.", "FIN 7", "criminal"),
])
def test_a_numbered_vendor_name_matches_with_the_number_apart(layer, text, name, actor_type):
    """The gazetteer lists "APT41" and "FIN7"; the press also writes "APT 41" and "APT-41"."""
    c = crit(layer, text, "actor_type")
    assert c.value == actor_type and c.evidence[0].text == name


TAKEDOWN = "Europol and the FBI took down the Qakbot botnet and seized 8.6 million dollars in cryptocurrency from its operators."


def test_the_strongest_span_leads_the_evidence(layer):
    """The lead span (quoted by explanations) is the strongest vote's, not the first in the text:
    a law-enforcement cue (0.6) counts towards a criminal case, but the crew's name (0.9) shows
    who the criminal is, and a stated sum (0.8) shows the money better than the gazetteer's
    presumption (0.5). The other spans follow in text order."""
    analysis, _ = layer.analyse(TAKEDOWN)
    actor, motive = analysis.criteria["actor_type"], analysis.criteria["motive"]
    assert [e.text for e in actor.evidence] == ["Qakbot", "Europol", "seized"]
    assert [e.text for e in motive.evidence] == ["million dollars", "Qakbot", "cryptocurrency"]


def test_equally_strong_spans_keep_text_order(layer):
    c = crit(layer, "Spies from a foreign intelligence service read the ministry's mail.", "actor_type")
    assert [e.start for e in c.evidence] == sorted(e.start for e in c.evidence)


def test_stoplisted_alias_needs_context(layer):
    assert crit(layer, "Children like to play football after school.", "actor_type").value == "unknown"
    assert crit(layer, "The Play ransomware gang leaked the files.", "actor_type").value == "criminal"


@pytest.mark.parametrize("text", [
    "LockBit ransomware hit Royal Mail, halting parcel exports abroad.",
    "The Royal Navy said hackers had defaced its recruitment site.",
    "Banking malware hid in Google Play apps that mimicked a bank's own.",
])
def test_alias_inside_an_everyday_name_is_no_actor(layer, text):
    """gazetteer.toml's [stoplist].names: the context words ("ransomware", "hackers", "malware")
    stand near, yet "Royal" and "Play" there are parts of other names."""
    evidence = crit(layer, text, "actor_type").evidence
    assert not any(e.rule in ("actor.Royal", "actor.Play") for e in evidence)


def test_alias_beside_an_everyday_name_still_counts(layer):
    c = crit(layer, "The Royal ransomware gang, not Royal Mail's staff, encrypted the servers.", "actor_type")
    assert [e.text for e in c.evidence if e.rule == "actor.Royal"] == ["Royal"]


def test_stoplisted_alias_in_capitals_is_a_name(layer):
    """Microsoft writes its element names in capitals; a context word is still needed."""
    c = crit(layer, "The hacker group POLONIUM broke into an Israeli firm.", "actor_type")
    assert c.value == "state-sponsored" and c.evidence[0].text == "POLONIUM"
    assert crit(layer, "POLONIUM was found in the samples.", "actor_type").value == "unknown"


# -- state_sponsorship ------------------------------------------------------------------------

def test_sponsorship_suspected(layer):
    c = crit(layer, "Operators believed to work for a foreign intelligence service read the mail.", "state_sponsorship")
    assert c.value == "suspected" and spans_exact("Operators believed to work for a foreign intelligence service read the mail.", c)


@pytest.mark.parametrize("text, sponsor", [
    ("Defacers thought to be affiliated with Pakistan hit an Indian police portal.", "Pakistan"),
    ("A congressman's mail was read by Qatari-linked operatives.", "Qatar"),
])
def test_sponsorship_names_the_state(layer, text, sponsor):
    c = crit(layer, text, "state_sponsorship")
    assert c.value == "suspected" and c.detail["sponsor"] == sponsor


@pytest.mark.parametrize("text, sponsor", [
    # A named actor of the gazetteer and a State's agency outweigh a weak nationality word, before or after.
    ("Iranian groups were also seen, but APT28, a unit of Russia's GRU, hacked the parliament.", "Russia"),
    ("APT28, a unit of Russia's GRU, hacked the parliament; Iranian groups were also seen.", "Russia"),
    # Two States named alike: the first named.
    ("Operators linked to China and operators linked to Iran both scanned the ministry.", "China"),
])
def test_sponsorship_names_the_state_the_strongest_evidence_names(layer, text, sponsor):
    assert crit(layer, text, "state_sponsorship").detail["sponsor"] == sponsor


def test_sponsorship_confirmed(layer):
    text = "The US indicted five officers of the GRU for the intrusion."
    assert crit(layer, text, "state_sponsorship").value == "confirmed"


@pytest.mark.parametrize("text", [
    "Investigators found no evidence of State involvement in the ransomware attack on the clinic.",
    "The attack was not linked to Moscow, officials said; a local gang demanded bitcoin.",
    "Police ruled out a foreign government and arrested two men.",
])
def test_sponsorship_negation(layer, text):
    analysis, decision = layer.analyse(text)
    assert analysis.criteria["state_sponsorship"].value == "none"
    assert not analysis.state_involvement
    assert decision.route == "cybercrime"


@pytest.mark.parametrize("text, link, against", [
    # A denial as written, then a name that sets the link.
    ("Police ruled out a foreign government, but researchers later linked the wiper to Sandworm.",
     "suspected", [("ruled out a foreign government", False)]),
    # A State cue negated beside a State's group that the text does not deny.
    ("Investigators found no evidence of Russian intelligence involvement; weeks later the GRU was "
     "charged over the intrusion.", "confirmed", [("Russian intelligence", True)]),
    # A State's group named and denied, another named as the actor.
    ("Sandworm was not behind the outage, officials said; APT28 was.", "confirmed", [("Sandworm", True)]),
])
def test_a_state_link_set_in_spite_of_a_denial_shows_the_denial_against_it(layer, text, link, against):
    """The denial lowers the link's confidence and is shown, not dropped: an analyst weighing the
    link sees what spoke against it (a gap carried since session 29)."""
    sponsorship = crit(layer, text, "state_sponsorship")
    assert sponsorship.value == link
    assert [(e.text, e.negated) for e in sponsorship.against] == against
    assert all(text[e.start:e.end] == e.text for e in sponsorship.against)
    assert not {(e.start, e.end) for e in sponsorship.against} & {(e.start, e.end) for e in sponsorship.evidence}
    undenied = crit(layer, text.split(",", 1)[1] if "ruled out" in text else "APT28 was behind the outage.",
                    "state_sponsorship")
    assert undenied.value in ("suspected", "confirmed") and undenied.against == ()


@pytest.mark.parametrize("text", [
    "Police ruled out a foreign government and arrested two men.",          # the denial wins: none
    "The GRU was not behind the outage; a local gang demanded bitcoin.",
    "Files were encrypted at a law office.",                                  # nothing either way
])
def test_against_is_empty_unless_a_state_link_overrides_a_denial(layer, text):
    analysis, _ = layer.analyse(text)
    assert analysis.criteria["state_sponsorship"].value in ("none", "unknown")
    assert all(c.against == () for c in (*analysis.criteria.values(), *analysis.signals.values()))


def test_a_criterions_against_spans_survive_its_json_form(layer):
    from classifier.rule_engine import Criterion

    sponsorship = crit(layer, "Police ruled out a foreign government, but researchers later linked the wiper "
                              "to Sandworm.", "state_sponsorship")
    record = sponsorship.to_dict()
    assert record["against"] == [{"start": 7, "end": 37, "text": "ruled out a foreign government",
                                  "rule": "state-link.none.explicit"}]
    back = Criterion.from_dict(record)
    assert back.against == sponsorship.against and back.to_dict() == record
    assert "against" not in crit(layer, "APT28 was behind the outage.", "state_sponsorship").to_dict()


def test_sponsorship_unknown_when_silent(layer):
    assert crit(layer, "Files were encrypted at a law office.", "state_sponsorship").value == "unknown"


def test_unattributed_is_unknown_with_evidence(layer):
    text = "The intrusion has not been attributed to any group."
    c = crit(layer, text, "state_sponsorship")
    assert c.value == "unknown" and [e.text for e in c.evidence] == ["has not been attributed"]


# -- critical_infrastructure ------------------------------------------------------------------

@pytest.mark.parametrize("text, sector", [
    ("Attackers hit a regional hospital's patient records.", "health"),
    ("The power grid operator lost control of its substations.", "energy"),
    ("Volt Typhoon pre-positioned in the networks of US energy utilities.", "energy"),   # plural
    ("Intruders sat for months in two power utilities' billing systems.", "energy"),
    ("A water utility found its treatment controls tampered with.", "water"),
    ("Customers of a large bank could not log in.", "finance"),
    ("Hackers breached the dam's control system upstream of the town.", "water"),
    ("Spies read the email of senior Foreign Office staff for months.", "government"),
])
def test_sectors_positive(layer, text, sector):
    c = crit(layer, text, "critical_infrastructure")
    assert sector in c.value and spans_exact(text, c)


@pytest.mark.parametrize("text", [
    "A boutique clothing shop's online store was defaced.",
    "A botnet of small office/home office routers sent spam for a crew.",   # "home office" is no ministry
    "The ransomware crew dumped a bakery chain's loyalty data on its leak site.",   # a shop, not food supply
    "A sacked IT contractor encrypted a restaurant group's servers.",   # the attacker, not a victim sector
])
def test_sectors_negative(layer, text):
    c = crit(layer, text, "critical_infrastructure")
    assert c.value == []


def test_a_denial_of_the_attacker_keeps_the_victim_sector(layer):
    """Sector terms are not negated (sectors.toml): a denial is about who did it, not what was hit."""
    c = crit(layer, "There is no evidence that Russia was behind the ransomware attack on the hospital.",
             "critical_infrastructure")
    assert c.value == ["health"] and [e.text for e in c.evidence] == ["hospital"]


def test_a_sector_marked_negatable_is_negated(rules_dir, tmp_path):
    """`negatable = true` on a sector restores NegEx negation for its terms."""
    import shutil

    from classifier.api import RuleLayer
    from classifier.ruleset import load_rules

    shutil.copytree(rules_dir, tmp_path / "rules")
    sectors = tmp_path / "rules" / "sectors.toml"
    text = sectors.read_text(encoding="utf-8")
    marked = text.replace('id = "health"\n', 'id = "health"\nnegatable = true\n', 1)
    assert marked != text
    sectors.write_text(marked, encoding="utf-8")
    sentence = "The malware spread widely, but no hospital was affected."
    assert "health" in crit(RuleLayer(load_rules(rules_dir)), sentence, "critical_infrastructure").value
    assert "health" not in crit(RuleLayer(load_rules(tmp_path / "rules")), sentence, "critical_infrastructure").value


def test_a_denied_state_sponsorship_leaves_no_state_actor_behind(layer):
    """"was not State-sponsored" holds the actor cue "State-sponsored": the denial hides it, and the
    criminal actor the text names is kept (found by a reviewer, session 17)."""
    analysis, _ = layer.analyse("The attack on the power grid was not State-sponsored, according to investigators, "
                                "and was carried out by a criminal group for ransom; blackouts hit three regions.")
    assert analysis.criteria["actor_type"].value == "criminal"
    assert analysis.criteria["state_sponsorship"].value == "none"


# -- cascading_effects ------------------------------------------------------------------------

def test_cascade_positive(layer):
    text = "Fuel shortages spread across several states after the pipeline stopped."
    c = crit(layer, text, "cascading_effects")
    assert c.value == "yes" and spans_exact(text, c)


@pytest.mark.parametrize("text, phrase", [
    ("Ransomware at a pathology supplier forced London hospitals to postpone thousands of operations.",
     "postpone thousands"),
    ("A ransomware attack on a shared billing platform cut prepayment top-ups for 400,000 households.",
     "households"),
    ("The gang reached 800 shops through its supplier's till software; the stores shut for days.",
     "through its supplier"),
    ("After ransomware hit the regional trust, stroke patients were sent to other hospitals for a week.",
     "sent to other hospitals"),
    ("The payment processor's outage left card holders at several lenders unable to use cash machines.",
     "cash machines"),
    ("Ransomware at a payroll vendor meant staff of dozens of councils went unpaid that month.",
     "went unpaid"),
])
def test_cascade_spill_over_beyond_the_victim(layer, text, phrase):
    c = crit(layer, text, "cascading_effects")
    assert c.value == "yes" and spans_exact(text, c)
    assert phrase in [e.text.lower() for e in c.evidence]


def test_cascade_negative(layer):
    assert crit(layer, "One laptop at a bakery was infected.", "cascading_effects").value == "no"


def test_breadth_of_targeting_is_no_cascade(layer):
    """A profile's "targets organisations worldwide" tells how wide a group hunts, not that one
    attack spread; effects that spread worldwide still count."""
    text = "The ransomware group targets hospitals and managed service providers worldwide."
    assert crit(layer, text, "cascading_effects").value == "no"
    text = "The gang has hit victims in dozens of countries and in more than 40 sectors."
    assert crit(layer, text, "cascading_effects").value == "no"
    text = "The worm spread worldwide from one accounting package, halting ports and hospitals."
    assert crit(layer, text, "cascading_effects").value == "yes"


@pytest.mark.parametrize("text", [
    "LockerGoga spread across the company's own offices and plants in several countries.",
    "The FBI removed the botnet's malware from hundreds of thousands of PCs.",
])
def test_the_reach_of_one_victim_or_of_a_botnet_is_no_cascade(layer, text):
    """The victim's own offices abroad and a count of infected machines are no effects on others
    (`rules check datasets/incidents.csv --terms`: "in several countries" right on none of 6
    corpus texts, "hundreds of thousands" on 3 of 17)."""
    assert crit(layer, text, "cascading_effects").value == "no"


def test_the_us_secret_service_is_no_intelligence_service(layer):
    """The US Secret Service investigates financial crime: naming it names no State attacker."""
    analysis, decision = layer.analyse("Secret Service agents traced the stolen unemployment benefits to a fraud "
                                       "crew in Lagos.")
    assert analysis.criteria["actor_type"].value == "criminal" and decision.route == "cybercrime"


def test_cascade_negated(layer):
    c = crit(layer, "The outage did not spread to other countries.", "cascading_effects")
    assert c.value == "no"


# -- motive -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, motive", [
    ("The gang demanded a ransom in bitcoin.", "financial"),
    ("The intruders exfiltrated diplomatic cables over months of espionage.", "espionage"),
    ("A wiper destroyed the hard drives of the oil company.", "sabotage"),
    ("The operation spread disinformation through hacked news sites.", "influence"),
    ("The group defaced the site in protest against the war.", "ideological"),
    ("Operatives broke into an exchange and took $250 million worth of virtual currency.", "financial"),
])
def test_motive_positive(layer, text, motive):
    assert crit(layer, text, "motive").value == motive


@pytest.mark.parametrize("text", [
    "A data breach at the retailer exposed 2 million customer records; the company is monitoring for misuse.",
    "A regional airline's booking site went down overnight; the cause is still under review.",
    "The police published a spreadsheet in reply to a freedom-of-information request by mistake.",
    "Freedom Mobile customers' records leaked after a breach at a vendor.",
])
def test_everyday_words_set_no_motive(layer, text):
    """Words that corpus texts use outside their cue's sense ("monitoring", "cause", "freedom";
    `cyberroute rules check datasets/incidents.csv --terms`) set no motive."""
    assert crit(layer, text, "motive").value == "unknown"


@pytest.mark.parametrize("text, motive", [
    ("The ransomware crew exfiltrated 40 GB before it encrypted the servers.", "financial"),
    ("Intruders kept persistence for weeks, then demanded a ransom.", "financial"),
    ("A DDoS-for-hire crew knocked the shop offline until it paid.", "financial"),
    ("Hackers for the Reconnaissance General Bureau stole cryptocurrency from an exchange.", "financial"),
])
def test_a_method_spies_or_saboteurs_share_with_crime_yields_to_a_stated_motive(layer, text, motive):
    """Exfiltration and persistence, a DDoS, a service's name that holds "reconnaissance": weak or
    no votes, which the money named outweighs."""
    assert crit(layer, text, "motive").value == motive


def test_a_ddos_alone_still_reads_as_sabotage(layer):
    assert crit(layer, "A DDoS took the ministry's website offline for a day.", "motive").value == "sabotage"


def test_motive_negated(layer):
    assert crit(layer, "No ransom was demanded.", "motive").value == "unknown"


@pytest.mark.parametrize("text", [
    "Pharmacies could not fill prescriptions for weeks after a ransomware affiliate encrypted the claims platform.",
    "The clinic could not open because a ransomware gang had encrypted its scheduling servers.",
])
def test_a_negation_ends_where_a_new_clause_begins_with_after_or_because(layer, text):
    """What could not be done is negated, not the actor of the clause that says why."""
    actor = crit(layer, text, "actor_type")
    assert actor.value == "criminal" and not any(e.negated for e in actor.evidence)


# -- signals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "The wiper was disguised as ransomware, but no decryption key existed.",
    "Russian military intelligence disguised a wiper as ransomware and hit Ukrainian banks.",
    "The attack was made to look like ransomware.",
])
def test_disguise_signal(layer, text):
    analysis, _ = layer.analyse(text)
    assert "criminal-disguise" in analysis.signals


@pytest.mark.parametrize("text", [
    "Moscow denied that its intelligence services had hacked the German parliament.",
    "Beijing rejected claims that Chinese state hackers had breached the ministry.",
])
def test_the_accuseds_denial_clears_nobody(layer, text):
    assert crit(layer, text, "state_sponsorship").value in ("suspected", "confirmed")


def test_a_dismissed_employee_is_no_negation(layer):
    text = "A dismissed credit-union worker deleted 20,000 files after her login was left active."
    assert crit(layer, text, "critical_infrastructure").value == ["finance"]


def test_a_denial_negates_the_involvement_not_the_attack_named_after_it(layer):
    analysis, _ = layer.analyse("The Iranian government denied involvement in the ransomware attack on a water utility.")
    assert analysis.criteria["motive"].value == "financial"
    assert analysis.criteria["critical_infrastructure"].value == ["water"]
    assert analysis.criteria["state_sponsorship"].value == "unknown"


@pytest.mark.parametrize("text", [
    "There is no doubt that Russia's government was behind the attack on the power grid.",
    "Investigators could not rule out that the Russian government was behind the outage.",
    "It is not impossible that the Chinese government was behind the intrusion.",
])
def test_a_pseudo_negation_negates_nothing(layer, text):
    # "no" in "no doubt", "not" and "rule out" in "could not rule out": an attribution stands.
    assert crit(layer, text, "state_sponsorship").value == "suspected"


@pytest.mark.parametrize("text, value", [
    # a denial after the cue negates it ...
    ("Officials said Russia's government was not behind the breach of the council network.", "none"),
    ("Investigators said Chinese state hackers were not involved in the theft.", "none"),
    # ... unless the accused speaks: "Russia said it was not behind" clears nobody
    ("Russia's government said it was not behind the breach of the council network.", "suspected"),
    # ... or a clause break lies between
    ("Russia's government was behind the breach; the gang was not involved.", "suspected"),
])
def test_a_post_trigger_negates_the_cue_before_it(layer, text, value):
    assert crit(layer, text, "state_sponsorship").value == value


@pytest.mark.parametrize("text", [
    "Investigators found no link to North Korea's Lazarus Group in the exchange theft.",
    "Police said Sandworm was not behind the outage at the water utility.",
])
def test_a_denied_state_group_is_evidence_of_no_state_link(layer, text):
    """Gazetteer names are negated like cues: a State's group denied is no State actor."""
    analysis, _ = layer.analyse(text)
    assert analysis.criteria["actor_type"].value == "unknown"
    assert analysis.criteria["state_sponsorship"].value == "none" and not analysis.state_involvement


def test_a_denied_criminal_name_counts_for_nothing(layer):
    analysis, _ = layer.analyse("It was not LockBit that encrypted the council's servers.")
    assert analysis.criteria["actor_type"].value == "unknown"
    assert analysis.criteria["motive"].evidence == ()   # the gang's presumed motive goes with it


def test_a_name_after_a_pseudo_negation_stands(layer):
    analysis, _ = layer.analyse("Not only APT28 but also APT29 was inside the party network.")
    assert analysis.criteria["actor_type"].value == "state" and analysis.state_involvement


def test_a_post_trigger_does_not_negate_the_act_after_it(layer):
    # "not" in "were not behind" negates the State cue before it, not the hospital after it.
    text = "Investigators said Chinese state hackers were not behind the attack on the hospital."
    assert crit(layer, text, "critical_infrastructure").value == ["health"]


def test_no_evidence_of_a_state_link_leaves_no_hedge_standing(layer):
    analysis, _ = layer.analyse("Ransomware hit a port operator; researchers found no evidence of a State link.")
    assert analysis.criteria["state_sponsorship"].value == "none"
    # The hedge "link" inside the no-link phrase is hidden, not left to vote for a suspected link.
    assert not any(hit.rule == "attribution.hedged" for hit in analysis.hits)


@pytest.mark.parametrize("text", [
    "State-backed North Korean hackers sent malware disguised as job offers to engineers at an aerospace firm.",
    "Operators tied to a foreign intelligence service mailed decoy documents masquerading as navy circulars.",
])
def test_a_lure_is_not_a_criminal_disguise(layer, text):
    """A State operation's phishing lure is disguised as something, but not as crime."""
    analysis, decision = layer.analyse(text)
    assert analysis.state_involvement
    assert "criminal-disguise" not in analysis.signals
    assert decision.route == "international-security"


@pytest.mark.parametrize("text", [
    "A military intelligence unit dressed up as a ransomware attack the wiping of a ministry's servers.",
    "The State-backed group masquerading as hacktivists leaked the stolen emails.",
    "The ransom note was a decoy: a GRU wiper destroyed the disks.",
])
def test_crime_as_a_costume_is_a_criminal_disguise(layer, text):
    analysis, decision = layer.analyse(text)
    assert "criminal-disguise" in analysis.signals
    assert decision.reason == "state-operation-disguised-as-crime"


def test_state_tasking_alone_is_not_a_criminal_proxy(layer):
    """"On behalf of" a government describes State units too; only a criminal actor makes a proxy."""
    analysis, decision = layer.analyse(
        "An espionage group acting on behalf of the Chinese government stole documents from a foreign ministry.")
    assert analysis.state_involvement and "criminal-proxy" not in analysis.signals
    assert decision.route == "international-security"
    analysis, decision = layer.analyse(
        "A ransomware gang acting on behalf of the Iranian government encrypted a port operator's systems.")
    assert "criminal-proxy" in analysis.signals
    assert decision.reason == "criminal-proxy-of-state"
    # A State's own group "tasked by" its government is a State operation, not a proxy.
    analysis, decision = layer.analyse(
        "Kimsuky, a North Korean State-sponsored actor, is most likely tasked by the regime with gathering "
        "intelligence on foreign policy.")
    assert "criminal-proxy" not in analysis.signals
    assert decision.route == "international-security"
    analysis, decision = layer.analyse(
        "The Evil Corp gang was tasked by Russian intelligence to hit NATO targets while running ransomware.")
    assert "criminal-proxy" in analysis.signals


@pytest.mark.parametrize("text, proxy", [
    ("Chinese intelligence services hacked a university to find students to recruit as informants "
     "before they were hired into the civil service.", False),
    ("Russian intelligence breached the ministry's network; Mandiant, hired to investigate, found the implant.",
     False),
    ("A security agency hired a crew of hackers, jailed before for fraud, to break into dissidents' phones.",
     True),
    ("Former intelligence officers, hired through a contractor, hacked activists' accounts for the UAE.", True),
])
def test_hiring_makes_a_proxy_only_when_the_hacking_is_hired(layer, text, proxy):
    """Bare "hired" also tells of the investigators, or of a victim's staff."""
    analysis, _ = layer.analyse(text)
    assert ("criminal-proxy" in analysis.signals) is proxy


@pytest.mark.parametrize("text, proxy", [
    ("A ransomware gang crippled a French hospital; France accused Moscow of knowingly harbouring the group.",
     True),
    ("Officials said the Kremlin keeps harboring cybercriminals who hit Western hospitals.", True),
    ("Investigators found servers harbouring the backdoor at a Russian-linked hosting firm.", False),
])
def test_a_state_harbouring_criminals_tolerates_them(layer, text, proxy):
    """From a fresh user's review (session 30): tolerance told as harbouring, not "tolerated by"."""
    analysis, decision = layer.analyse(text)
    assert ("criminal-proxy" in analysis.signals) is proxy
    if proxy:
        assert decision.reason == "criminal-proxy-of-state"


def test_a_criminal_groups_state_ties_come_from_the_text_not_its_name(layer):
    """Evil Corp's and TrickBot's State ties are in the gazetteer, but a report that names them in
    passing (a loader dropping TrickBot) is no proxy case: only a text that states the tie is."""
    analysis, decision = layer.analyse(
        "Emotet infections were used to drop TrickBot, and later Ryuk ransomware, on hospital networks.")
    assert not analysis.state_involvement and "criminal-proxy" not in analysis.signals
    assert decision.route == "cybercrime"
    analysis, decision = layer.analyse(
        "Evil Corp, whose leader worked for the FSB, deployed WastedLocker against a navigation firm.")
    assert analysis.state_involvement and decision.reason == "criminal-proxy-of-state"
    # A hacktivist front carries its State link with its name.
    analysis, decision = layer.analyse("Killnet flooded the websites of Lithuanian airports.")
    assert decision.reason == "criminal-proxy-of-state"


def test_justice_words_beside_a_state_actor_make_no_proxy(layer):
    """"The hacker" and "arrested" lean to crime (0.6), but only an explicit criminal or hacktivist
    actor beside a State link makes a proxy case."""
    analysis, decision = layer.analyse("The hacker group Fancy Bear broke into the ministry's mail.")
    assert "criminal-proxy" not in analysis.signals and decision.route == "international-security"
    analysis, _ = layer.analyse("The hacker gang worked for Fancy Bear, officials said.")
    assert "criminal-proxy" in analysis.signals


ENFORCEMENT_BY_STATE_ORGANS = [
    "Officers of Ukraine's security service arrested five members of a ransomware crew that had extorted firms across Europe.",
    "The FSB raided the flats of a ransomware gang's members and seized cash and crypto wallets at Washington's request.",
    "Military intelligence officers and police arrested the teenage operators of a booter service.",
    # No explicit criminal actor, but the offence is crime (financial motive).
    "Kazakh security service officers arrested an administrator of a Telegram shop selling bank logins.",
    # The agency after the action, as its agent.
    "Ransomware crew members were detained by Ukraine's security service in a joint operation with Europol.",
]


@pytest.mark.parametrize("text", ENFORCEMENT_BY_STATE_ORGANS)
def test_a_state_organ_enforcing_the_law_against_criminals_is_no_state_link(layer, text):
    """A security service or intelligence officers that arrest, raid or detain criminals (the
    subject of the action, or its agent after "by") are the enforcers: no State link, no proxy,
    and the case is crime."""
    analysis, decision = layer.analyse(text)
    assert "enforcement" in analysis.signals and spans_exact(text, analysis.signals["enforcement"])
    assert not analysis.state_involvement and "criminal-proxy" not in analysis.signals
    assert decision.route == "cybercrime"


@pytest.mark.parametrize("text, route, reason", [
    # No criminal actor: the arrested officer is the offender.
    ("Police arrested a GRU officer who had planted malware at a water utility.", "international-security", ""),
    # The text ties the arrested crew to a State.
    ("Police arrested members of a ransomware gang that worked for the FSB.", "intersection", "criminal-proxy-of-state"),
    ("Europol seized the servers of a Kremlin-linked ransomware gang.", "intersection", "criminal-proxy-of-state"),
    # A named State-backed group keeps its State link whoever seizes its loot.
    ("Lazarus Group stole crypto from a bridge; police arrested two launderers and seized part of the funds.",
     "intersection", "state-actor-in-crime"),
    # The agency after the action is the offenders' principal, not the enforcer.
    ("Estonia's security police arrested a man who spied for the GRU.", "international-security", ""),
    # The agency that acts is in another clause: it is the offender.
    ("Russian military intelligence officers hacked the party's servers; the FBI later seized domains they used.",
     "international-security", ""),
    # No crime: a security service detaining an activist and planting spyware is a State operation.
    ("Chinese state security officers detained an activist and installed spyware on his phone.",
     "international-security", ""),
])
def test_enforcement_keeps_a_state_link_the_text_gives_the_offenders(layer, text, route, reason):
    analysis, decision = layer.analyse(text)
    assert "enforcement" in analysis.signals
    assert analysis.state_involvement
    assert (decision.route, decision.reason) == (route, reason)


def test_a_military_operation_against_criminals_is_no_enforcement(layer):
    """Hacking a gang's servers is a State cyber operation, not police work: the agencies stay
    State actors (how to route such cases is left to the routing policy)."""
    analysis, _ = layer.analyse("US Cyber Command and the NSA hacked the servers of a ransomware gang.")
    assert "enforcement" not in analysis.signals and analysis.state_involvement


AGENCIES_AS_VICTIMS = [
    "Hacktivists flooded the Central Intelligence Agency's web page until it went dark.",
    "An unknown group broke in and copied data of the Russian FSB.",
    "A protest crew defaced the GCHQ website for an afternoon.",
    "A crew sold FSB documents to a tabloid.",
    "Hackers leaked the emails of a security service contractor to a journalist.",
    # The agency is what an attack was done to.
    "Hacktivists breached SyTech, an FSB contractor, and leaked its project files.",
    "A hacktivist crew attacked the FSB and posted what it took.",
    # "for" after an asset does not make its owner's client the actor.
    "Criminals stole the files of a caterer for the FSB and sold them.",
    # Personal details of an agency's people, and an agency "whose" data was taken.
    "A protest collective posted the personal details of GRU officers online.",
    "The group named the army unit whose data was leaked as a signals battalion near Minsk.",
]


@pytest.mark.parametrize("text", AGENCIES_AS_VICTIMS)
def test_an_agency_that_owns_what_was_hit_is_the_victim(layer, text):
    """An agency named as the owner of a victim's asset (a site, data, documents, emails; before
    it or right after it) is what was hit: it is no State actor."""
    analysis, decision = layer.analyse(text)
    assert not analysis.state_involvement
    assert any(hit.rule.startswith("victim.") for hit in analysis.hits)
    assert decision.route in ("cybercrime", "undetermined")


@pytest.mark.parametrize("text", [
    # The agency acts; the asset is the victim's.
    "Officers of the GRU hacked the website of the ministry.",
    # The asset belongs to the ministry; the GRU did it ("by").
    "The website of the ministry was defaced by the GRU.",
    # "officers" is no asset: these are the agency's people, and they act.
    "FSB officers stole data from the bank.",
    # Where the operation ran from is no victim's asset.
    "The botnet was run from a military unit's servers.",
    "An IRGC contractor hijacked the stadium's screens.",
    # Another clause: the agency is the actor there.
    "Data of the bank leaked; military intelligence was behind it.",
    # After an attack, an agent word makes the agency the one who acts or orders, and a word that
    # starts another clause leaves it free to be the actor there.
    "Networks of three banks were breached on behalf of the MSS.",
    "Contractors hacked for the FSB for a decade.",
    "Mercenaries launched an attack on behalf of the FSB against a Ukrainian bank.",
    "The power grid was attacked and the GRU later claimed it.",
    "Substations were compromised as the GRU sought to cut power.",
])
def test_an_agency_that_acts_stays_a_state_actor_beside_a_victims_asset(layer, text):
    analysis, decision = layer.analyse(text)
    assert analysis.criteria["actor_type"].value == "state"
    assert decision.route == "international-security"


@pytest.mark.parametrize("text", [
    "The NSA warned that ransomware gangs are exploiting Citrix gateways at hospitals.",
    "GCHQ's NCSC said a criminal gang had encrypted the college's servers.",
    "The NSA and the FBI urged banks to patch after criminals exploited a VPN flaw.",
    "According to Ukraine's security service, a local gang sold stolen card data on a forum.",
    "The FSB has warned that phishing kits sold on Telegram target Russian bank customers.",
])
def test_an_agency_that_tells_of_the_incident_is_no_state_actor(layer, text):
    """The agency a reporting verb follows, or "according to" precedes, is the source of the
    report: it leaves the actor count, and the criminals are the actors."""
    analysis, decision = layer.analyse(text)
    assert not analysis.state_involvement
    assert any(hit.rule.startswith("speaker.") for hit in analysis.hits)
    assert analysis.criteria["actor_type"].value == "criminal" and decision.route == "cybercrime"


@pytest.mark.parametrize("text", [
    # The agency speaks, the GRU acts.
    "The NSA and the FBI said Russian GRU hackers used a new Linux malware called Drovorub.",
    # A comma between the agency and the verb or "according to": the verb tells of another.
    "The GRU, officials said, broke into the ministry's mail servers.",
    "According to the FBI, the GRU broke into the ministry's mail servers.",
    # The verb tells of the agency itself.
    "Iran's IRGC said it had hacked the ministry's website.",
    "FSB hackers said to be behind the breach of the ministry stole its mail.",
    # Verbs that as often tell of the agency's own act are no reporting verbs.
    "The GRU published emails stolen from the ministry.",
    # Too far from the verb: the verb belongs to the actors.
    "FSB officers and their hired hackers later said nothing as they wiped the ministry's servers.",
    # The agency's own act is no report.
    "The IRGC claimed the hack of the ministry's website.",
])
def test_an_agency_that_acts_stays_a_state_actor_beside_a_reporting_verb(layer, text):
    analysis, _ = layer.analyse(text)
    assert analysis.criteria["actor_type"].value == "state" and analysis.state_involvement


@pytest.mark.parametrize("text", [
    "An NSA contractor copied classified files and leaked them to a journalist.",
    "A GCHQ analyst was jailed for taking classified documents home.",
    "A CIA software engineer leaked classified hacking tools.",
])
def test_an_agency_that_employs_an_insider_is_no_state_actor(layer, text):
    """Where the text tells of an insider, the agency before a staff word is the employer."""
    analysis, decision = layer.analyse(text)
    assert analysis.criteria["actor_type"].value == "insider" and not analysis.state_involvement
    assert any(hit.rule == "victim.staff-of" for hit in analysis.hits)
    assert decision.route == "cybercrime"


@pytest.mark.parametrize("text", [
    "Edward Snowden, an NSA contractor, leaked classified documents to journalists.",
    "A former NSA contractor took classified files and fled to Hong Kong.",
])
def test_an_insiders_act_also_makes_the_agency_the_employer(layer, text):
    """No insider cue, but what the agency's staff did with classified material: the agency is
    not read as the actor (found by a reviewer: both went to international security)."""
    analysis, decision = layer.analyse(text)
    assert not analysis.state_involvement and decision.route != "international-security"
    assert any(hit.rule == "victim.insider-act" for hit in analysis.hits)


@pytest.mark.parametrize("text", [
    # No insider cue: the agency's people act for it.
    "NSA employees developed the exploit and used it against foreign telecoms.",
    # An insider elsewhere does not make every agency an employer: the staff word must follow it.
    "GRU officers hacked the ministry, helped by a rogue insider.",
    # ... and the insider must be told in the same clause as the staff word.
    "A rogue insider leaked classified files; the FSB employees then hacked the ministry.",
    # A State's hackers who leak what they stole are no insiders.
    "GRU analysts leaked secret documents stolen from the Democratic Party.",
])
def test_staff_words_alone_leave_the_agency_acting(layer, text):
    analysis, _ = layer.analyse(text)
    assert analysis.state_involvement


@pytest.mark.parametrize("text", [
    "North Korean hackers took classified military plans from a South Korean defence firm.",
    "Russian hackers leaked secret emails of the French presidential campaign.",
])
def test_hackers_who_take_or_leak_secrets_are_no_insiders(layer, text):
    analysis, _ = layer.analyse(text)
    assert analysis.criteria["actor_type"].value != "insider"
    assert analysis.criteria["state_sponsorship"].value != "none"


def test_a_proxy_server_is_not_a_criminal_proxy(layer):
    analysis, decision = layer.analyse(
        "Chinese state-sponsored hackers stole defence files; their identities were masked by proxy servers.")
    assert "criminal-proxy" not in analysis.signals and decision.route == "international-security"
    analysis, _ = layer.analyse("Investigators called the gang a criminal proxy of Russian intelligence.")
    assert "criminal-proxy" in analysis.signals


def test_a_crime_service_for_hire_is_no_proxy_but_hackers_for_hire_are(layer):
    """A DDoS-for-hire service sells to anyone; mercenary hackers for hire are the proxies States use."""
    analysis, _ = layer.analyse("Police shut a DDoS-for-hire service run by two students.")
    assert "criminal-proxy" not in analysis.signals
    analysis, _ = layer.analyse("The campaign was run by hackers-for-hire working for a ministry.")
    assert "criminal-proxy" in analysis.signals


def test_evidence_offsets_survive_case_folding(layer):
    text = "İstanbul: Sandworm hackers hit a grid operator."  # "İ".lower() is two characters
    analysis, _ = layer.analyse(text)
    for criterion in analysis.criteria.values():
        assert spans_exact(text, criterion)


@pytest.mark.parametrize("text", [
    "The Chinese hack of a transport ministry went unnoticed for months.",
    "Russia hacked the election commission's servers, officials say.",
    "Officials blame an Iranian cyberattack for the outage at the port.",
])
def test_a_state_named_as_the_one_who_hacks_is_a_state_link(layer, text):
    """Tracker entries attribute without an actor noun: the State is the subject of the hack."""
    analysis, _ = layer.analyse(text)
    assert analysis.state_involvement


def test_a_nationality_of_hackers_alone_is_still_no_state_link(layer):
    analysis, decision = layer.analyse("Turkish hackers defaced dozens of Greek municipal websites.")
    assert not analysis.state_involvement and decision.route == "cybercrime"


@pytest.mark.parametrize("text", [
    "North Korean hackers stole $600 million from a blockchain bridge.",
    "DPRK IT workers on stolen identities drew salaries from US crypto firms.",
])
def test_north_korean_hackers_are_the_exception_a_state_link(layer, text):
    """criteria.toml's north-korean-nationality cue: the one nationality reported only of State hacking."""
    analysis, decision = layer.analyse(text)
    sponsorship = analysis.criteria["state_sponsorship"]
    assert sponsorship.value == "suspected" and sponsorship.detail["sponsor"] == "North Korea"
    assert decision.route == "intersection" and decision.reason == "state-actor-in-crime"
    # The same words of another nationality stay below the State-link threshold.
    analysis, decision = layer.analyse(text.replace("North Korean", "Romanian").replace("DPRK", "Romanian"))
    assert not analysis.state_involvement and decision.route == "cybercrime"


def test_retaliation_names_no_motive(layer):
    """A State answering an airspace violation is not a hacktivist: "retaliation" gives a reason,
    not an ideology (DCID uses it of State operations), so the rules leave the case open."""
    analysis, decision = layer.analyse(
        "In retaliation for the airspace violation, intruders broke into the defence ministry network.")
    assert analysis.criteria["motive"].value == "unknown" and decision.route == "undetermined"
    analysis, _ = layer.analyse("Hacktivists defaced a ministry site in retaliation for the ban.")
    assert analysis.criteria["motive"].value == "ideological"   # other cues still say so


@pytest.mark.parametrize("text", [
    "Anonymous posted the card numbers of customers of a private intelligence agency.",
    "A crew leaked files of a contractor that sells cyber security services to the police.",
    "Protesters knocked dozens of state-backed media sites offline during the election.",
    "A cryptominer spread through an NSA exploit that had leaked online two years before.",
    "Volunteers said they were defending the sovereign territory of their country.",
])
def test_an_everyday_phrase_holding_a_state_word_names_no_state(layer, text):
    """A private intelligence company, a security services vendor, State-backed media as a target, a
    leaked NSA exploit reused by criminals: the words inside such phrases are no State actor or link
    (rules/criteria.toml, phrase.not-a-state-actor)."""
    analysis, _ = layer.analyse(text)
    assert not analysis.state_involvement
    assert any(hit.rule == "phrase.not-a-state-actor" for hit in analysis.hits)


def test_the_same_words_outside_the_phrase_still_name_a_state(layer):
    analysis, _ = layer.analyse("The NSA broke into the servers of a foreign telecom operator.")
    assert analysis.criteria["actor_type"].value == "state"
    analysis, _ = layer.analyse("State-backed hackers defaced dozens of media sites during the election.")
    assert analysis.state_involvement


@pytest.mark.parametrize("text", [
    "Bangladesh Cyber Army knocked 30 government websites in a neighbouring country offline.",
    "A self-styled cyberarmy from one country traded attacks with netizens of another.",
])
def test_self_styled_cyber_armies_are_hacktivists(layer, text):
    analysis, _ = layer.analyse(text)
    assert analysis.criteria["actor_type"].value == "hacktivist"
    assert not analysis.state_involvement


@pytest.mark.parametrize("text", [
    "Oslo says Russia was behind the break-in to members' mailboxes.",
    "Officials believe Iran to be behind the outage at the port.",
    "China behind the hack of the parliament's network, ministers say.",
    "Investors' memos were copied for months; officials suspect a rival State.",
])
def test_a_state_named_as_the_one_behind_it_is_a_state_link(layer, text):
    assert crit(layer, text, "state_sponsorship").value == "suspected"


def test_a_state_said_not_to_be_behind_it_is_no_state_link(layer):
    assert crit(layer, "Investigators said Russia was not behind the outage.", "state_sponsorship").value != "suspected"
