"""How a result looks to a person: plain text for the terminal, HTML for a notebook."""

from __future__ import annotations

import html
import unicodedata
from typing import NamedTuple

from .result import Result
from .rule_engine import MAX_EVIDENCE
from .ruleset import CRITERIA

# One colour per criterion (Okabe-Ito palette, readable by colour-blind readers).
COLOURS = {
    "actor_type": "#E69F00",
    "state_sponsorship": "#56B4E9",
    "critical_infrastructure": "#009E73",
    "cascading_effects": "#F0E442",
    "motive": "#CC79A7",
    "signals": "#D55E00",
}
ROUTE_COLOURS = {
    "cybercrime": "#0072B2",
    "international-security": "#D55E00",
    "intersection": "#7B3294",
    "undetermined": "#777777",
}


def value_text(value) -> str:
    """A criterion value as the views print it: a list of sectors joined, "none" for no sector."""
    if isinstance(value, list):
        return ", ".join(value) if value else "none"
    return str(value)


def _heads(model_criteria: dict[str, float]) -> str:
    """The text model's criterion heads, e.g. "state involvement 0.91, financial motive 0.12"."""
    return ", ".join(f"{name.replace('_', ' ')} {p:.2f}" for name, p in model_criteria.items())


# Shown for a criterion whose value no words of the text set (the default: "no" cascade, no
# sector, "unknown" actor), so it does not read as a finding.
NOTHING_FOUND = "(nothing found)"
# How much of the description the terminal block repeats, so that blocks of several texts can
# be told apart.
TEXT_SHOWN = 100


def _shown(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_SHOWN else flat[:TEXT_SHOWN - 3].rstrip() + "..."


def _criterion_value(criterion) -> str:
    """A criterion's value as the views show it: with the sponsoring State, where the rules name
    one, beside the sponsorship it qualifies ("suspected (North Korea)")."""
    sponsor = criterion.detail.get("sponsor")
    return value_text(criterion.value) + (f" ({sponsor})" if sponsor else "")


def _negation(span) -> str:
    """The mark every view puts after a span a negation turned around: "Russian intelligence" is
    evidence of no State link in "no evidence of Russian intelligence involvement"."""
    return " (negated)" if span.negated else ""


def _quoted(evidence) -> str:
    """A span as the terminal view quotes it."""
    return f'"{evidence.text}"{_negation(evidence)}'


def _against(criterion) -> str:
    """The spans that spoke against the value and lost, as the terminal view adds them: '; against
    "ruled out a foreign government"' (up to four, then +N)."""
    if not criterion.against:
        return ""
    more = f" +{len(criterion.against) - 4}" if len(criterion.against) > 4 else ""
    return "; against " + ", ".join(_quoted(e) for e in criterion.against[:4]) + more


def result_text(result: Result) -> str:
    """A readable block for the terminal, starting with the description (shortened)."""
    route = result.route
    if result.intersection_reason:
        route += f" ({result.intersection_reason})"
    lines = [f"text         {_shown(result.text)}", f"route        {route}", f"confidence   {result.confidence:.2f}"
             + ("   REVIEW" if result.review else ""),
             f"rules        {result.rule_route} ({result.rule_confidence:.2f})   "
             f"model {result.model_route} ({result.model_probabilities.get(result.model_route, 0):.2f})"]
    if result.model_criteria:
        lines.append("model reads  " + _heads(result.model_criteria))
    values = {name: _criterion_value(result.criteria[name]) for name in CRITERIA}
    # The value column is as wide as its longest value ("suspected (North Korea)"), 22 at least.
    width = max(22, *map(len, values.values()))
    for name in CRITERIA:
        crit = result.criteria[name]
        # A value without evidence is the default, not a finding ("no" cascade: none found).
        spans = ", ".join(_quoted(e) for e in crit.evidence[:4]) or NOTHING_FOUND
        more = f" +{len(crit.evidence) - 4}" if len(crit.evidence) > 4 else ""
        lines.append(f"{name:<24} {values[name]:<{width}} {crit.confidence:.2f}  {spans}{more}{_against(crit)}".rstrip())
    for name, signal in result.signals.items():
        spans = ", ".join(_quoted(e) for e in signal.evidence[:4])
        lines.append(f"{'signal ' + name:<24} {'yes':<{width}} {signal.confidence:.2f}  {spans}")
    if result.processes:
        lines.append("processes    " + "; ".join(result.processes))
    if result.norms:
        lines.append("norms        " + "; ".join(n.split(" ", 1)[0] for n in result.norms))
    lines.append("why          " + result.explanation)
    if result.error:
        lines.append("error        " + result.error)
    return "\n".join(lines)


class Span(NamedTuple):
    """A stretch of the description to mark: evidence for ``criterion``, found by ``rule``."""

    start: int
    end: int
    criterion: str
    rule: str
    negated: bool = False


def _past_marks(text: str, end: int) -> int:
    """``end`` moved past combining marks, so an accent is not cut from the letter it sits on."""
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return end


def highlight_html(text: str, spans: list[Span]) -> str:
    """Mark up ``text`` with coloured spans; overlaps take the colour of the first.

    A negated span (the rules read "no link to North Korea" as evidence of no State link) is
    struck through and its tooltip says "negated", so it does not read as a finding of what it
    names. The spans are in ``text`` at their offsets (``result_html`` keeps only those)."""
    spans = [span._replace(end=_past_marks(text, span.end)) for span in spans]
    boundaries = sorted({0, len(text)} | {s.start for s in spans} | {s.end for s in spans})
    starts: dict[int, list[Span]] = {}
    for span in spans:
        starts.setdefault(span.start, []).append(span)
    active: list[Span] = []
    out = []
    for left, right in zip(boundaries, boundaries[1:]):
        active = [s for s in active if s.end > left] + starts.get(left, [])
        piece = html.escape(text[left:right])
        if active:
            # Each criterion the piece is evidence for, with the rule that found it there.
            title = html.escape("; ".join(sorted({f"{a.criterion}: {a.rule}{_negation(a)}" for a in active})))
            colour = COLOURS.get(active[0].criterion, "#cccccc")
            strike = ";text-decoration:line-through" if all(a.negated for a in active) else ""
            out.append(f'<mark style="background:{colour}55;border-bottom:2px solid {colour};padding:0 1px{strike}" '
                       f'title="{title}">{piece}</mark>')
        else:
            out.append(piece)
    return "".join(out)


def _evidence_list(evidence) -> str:
    if not evidence:
        return NOTHING_FOUND
    shown = "; ".join(e.text + _negation(e) for e in evidence[:MAX_EVIDENCE])
    return shown + (f" (+{len(evidence) - MAX_EVIDENCE} more)" if len(evidence) > MAX_EVIDENCE else "")


def _against_list(against) -> str:
    return "; against: " + _evidence_list(against) if against else ""


def result_html(result: Result) -> str:
    """The notebook view: route, confidence bar, text with evidence highlighted, criteria table.

    As in the JSON form, each criterion shows at most MAX_EVIDENCE spans (a pasted report can
    hold thousands, and the page would grow to many times the text)."""
    # Only spans that are in the text where they say (from_dict without the description gives none).
    spans = [Span(e.start, e.end, name, e.rule, e.negated) for name in CRITERIA
             for e in result.criteria[name].evidence[:MAX_EVIDENCE] if result.text[e.start:e.end] == e.text]
    spans += [Span(e.start, e.end, "signals", e.rule, e.negated) for s in result.signals.values()
              for e in s.evidence[:MAX_EVIDENCE] if result.text[e.start:e.end] == e.text]
    # A denial the State link overrode is marked in its criterion's colour, its rule tagged "against".
    spans += [Span(e.start, e.end, name, e.rule + " (against)", e.negated) for name in CRITERIA
              for e in result.criteria[name].against[:MAX_EVIDENCE] if result.text[e.start:e.end] == e.text]
    colour = ROUTE_COLOURS.get(result.route, "#777777")
    reason = f" &middot; {html.escape(result.intersection_reason)}" if result.intersection_reason else ""
    review = ' <span style="color:#b00;font-weight:bold">&#9873; review</span>' if result.review else ""
    pct = max(0.0, min(1.0, result.confidence)) * 100
    legend = " ".join(
        f'<span style="background:{c}55;border-bottom:2px solid {c};padding:0 4px;margin-right:4px">{html.escape(n)}</span>'
        for n, c in COLOURS.items())
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td><b>{html.escape(_criterion_value(result.criteria[name]))}</b></td>"
        f"<td>{result.criteria[name].confidence:.2f}</td>"
        f"<td>{html.escape(_evidence_list(result.criteria[name].evidence))}"
        f"{html.escape(_against_list(result.criteria[name].against))}</td></tr>"
        for name in CRITERIA)
    probs = " ".join(f"{html.escape(k)} {v:.2f}" for k, v in result.probabilities.items())
    lists = ""
    if result.processes:
        lists += "<div><b>Processes:</b> " + html.escape("; ".join(result.processes)) + "</div>"
    if result.norms:
        lists += "<div><b>Norms:</b> " + "<br>".join(html.escape(n) for n in result.norms) + "</div>"
    return (
        '<div style="font-family:sans-serif;max-width:60em;border:1px solid #ddd;padding:0.8em;border-radius:6px">'
        f'<div style="font-size:1.2em"><span style="background:{colour};color:white;padding:2px 8px;border-radius:4px">'
        f"{html.escape(result.route)}</span>{reason}{review}</div>"
        f'<div style="margin:6px 0;background:#eee;width:20em;height:10px;border-radius:5px">'
        f'<div style="background:{colour};width:{pct:.0f}%;height:10px;border-radius:5px"></div></div>'
        f'<div style="font-size:0.9em;color:#555">confidence {result.confidence:.2f} &middot; {probs} &middot; '
        f"rules: {html.escape(result.rule_route)} &middot; model: {html.escape(result.model_route)}"
        + (f" (reads {html.escape(_heads(result.model_criteria))})" if result.model_criteria else "") + "</div>"
        f'<p style="line-height:1.6;white-space:pre-wrap">{highlight_html(result.text, spans)}</p>'
        f'<div style="font-size:0.85em">{legend}</div>'
        '<table style="font-size:0.9em;margin-top:6px"><tr><th>criterion</th><th>value</th><th>conf.</th>'
        f"<th>evidence</th></tr>{rows}</table>"
        f'<div style="font-size:0.9em;margin-top:6px">{lists}</div>'
        f"<p><i>{html.escape(result.explanation)}</i></p></div>"
    )
