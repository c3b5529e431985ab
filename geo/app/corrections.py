"""The editor's side of the explorer: the correction box under a place's passages, and the saved list.

A correction is stored per spelling (the store keys it by the normalised name and the article's setting), so
the box asks which spelling it is for when a marker gathers several ("Georgia" and "Ga."): "Not a place" for
one spelling leaves the others on the map. The right reading is picked among the resolver's alternatives,
or typed: a gazetteer search (fuzzy) or coordinates (:mod:`geo.search`). Everything is saved in
``cache/corrections.sqlite3`` and applied from the next parse on; an error is one line and loses nothing
(what was typed stays in its box).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import streamlit as st

from geo.app import ui
from geo.model import Candidate, Place, Result
from geo.names import normalize
from geo.pipeline import Engine
from geo.search import Found, find

EVERY_SPELLING = -1  # the spelling picker's option for all of a marker's spellings at once
SEARCH_MEMO = 64  # typed searches remembered (each rerun while the text stays in its box reuses the answer)


@dataclass(frozen=True)
class Target:
    """What a correction is saved for: these spellings, in this setting ("*" for every article)."""

    forms: tuple[str, ...]
    context: str


def spellings(place: Place) -> list[tuple[str, ...]]:
    """The marker's spellings as the store tells them apart (case and accents folded: "NEWARK" is "Newark"),
    each with the ways it is written, most mentioned first."""
    written = Counter(m.text for m in place.mentions)
    groups: dict[str, list[str]] = {}
    for form in written:
        groups.setdefault(normalize(form) or form, []).append(form)
    # Within a spelling, the way it is most often written leads; a dateline's capitals ("NEWARK") come last.
    ordered = [sorted(forms, key=lambda f: (f.isupper() and len(f) > 3, -written[f], f)) for forms in groups.values()]
    return sorted((tuple(forms) for forms in ordered), key=lambda forms: (-sum(written[f] for f in forms), forms))


def spelling_options(place: Place) -> list[int]:
    """Indexes into :func:`spellings`, then :data:`EVERY_SPELLING` when there are several."""
    count = len(spellings(place))
    return list(range(count)) + ([EVERY_SPELLING] if count > 1 else [])


def spelling_label(place: Place, option: int) -> str:
    groups = spellings(place)
    if option == EVERY_SPELLING:
        return f"every spelling ({', '.join(g[0] for g in groups)})"
    written = groups[option]
    count = sum(m.text in written for m in place.mentions)
    return f"{' / '.join(f'“{w}”' for w in written)} ({count} mention{'' if count == 1 else 's'})"


def chosen_forms(place: Place, option: int) -> tuple[str, ...]:
    """The written forms a correction is saved under (one per spelling is enough: the store folds case)."""
    groups = spellings(place)
    return tuple(g[0] for g in groups) if option == EVERY_SPELLING else (groups[option][0],)


def save(engine: Engine, target: Target, candidate: Candidate | None) -> str:
    """Store ``candidate`` (None: not a place) for every spelling of ``target``; "" when saved, else why not."""
    try:
        for form in target.forms:
            engine.corrections.set(form, target.context, candidate)
    except OSError as exc:
        return str(exc)
    return ""


def undo(engine: Engine, forms: Iterable[str], contexts: Iterable[str]) -> str:
    """Forget the corrections of these spellings in these settings; "" when done, else why not."""
    try:
        for context in contexts:
            for form in forms:
                engine.corrections.remove(form, context)
    except OSError as exc:
        return str(exc)
    return ""


@lru_cache(maxsize=SEARCH_MEMO)
def find_cached(engine: Engine, text: str, name: str) -> Found:
    """:func:`geo.search.find`, remembered: the typed text stays in its box across the reruns of each click."""
    return find(engine.gazetteer, text, name)


def _apply(engine: Engine, state: MutableMapping[str, Any], article_id: str, target: Target,
           candidate: Candidate | None) -> str:
    """Save, then show the new reading (it may be elsewhere on the map) and read the article again (a rerun);
    returns why not when the store refused, and the page stays as it was."""
    problem = save(engine, target, candidate)
    if problem:
        return problem
    if candidate is not None:
        state[ui.SELECTED] = (article_id, candidate.key)
        state[ui.VIEW] = ui.view_for(candidate, state)
    st.rerun()


def correction_box(engine: Engine, state: MutableMapping[str, Any], article_id: str, result: Result,
                   place: Place) -> None:
    """"Is this the right place?": pick another reading, type one, or say a spelling is not a place."""
    gazetteer = engine.gazetteer
    readings = [place.candidate] + [a.candidate for a in place.alternatives if a.candidate.key != place.key]
    scores = [place.confidence] + [a.confidence for a in place.alternatives if a.candidate.key != place.key]
    key = f"{article_id}:{place.key}"
    with st.container(border=True):
        st.markdown("**Is this the right place?**")
        options = spelling_options(place)
        option = options[0]
        if len(options) > 1:
            option = st.selectbox("Spelling", options, key=f"form:{key}",
                                  format_func=lambda i: spelling_label(place, i),
                                  help="A correction is saved for one spelling of the name, or for all of them.")
        forms = chosen_forms(place, option)
        pick = st.selectbox(
            "Reading", range(len(readings)), key=f"fix:{key}",
            format_func=lambda i: ("✓ " if i == 0 else "") + ui.candidate_label(readings[i], scores[i],
                                                                                gazetteer=gazetteer),
            help="The readings the resolver considered, with its confidence in each.",
        )
        context = ui.context_of(result)
        where = ui.country_name(engine, context) or "this kind of article"
        everywhere = st.checkbox(f"Apply to every article, not only those set in {ui.md_escape(where)}",
                                 key=f"fixall:{key}")
        target = Target(forms, "*" if everywhere else context)
        left, right = st.columns(2)
        problem = ""
        if left.button("Save correction", disabled=pick == 0, key=f"save:{key}", width="stretch"):
            problem = _apply(engine, state, article_id, target, readings[pick])
        drop_help = ("Only the spelling chosen above stops being a place." if len(options) > 1 else
                     "The name leaves the map; remove the correction under Your corrections to bring it back.")
        if right.button("Not a place", key=f"drop:{key}", width="stretch", help=drop_help):
            problem = _apply(engine, state, article_id, target, None)

        typed = st.text_input(
            "Not listed? Type a place or coordinates", key=f"find:{key}",
            placeholder="Newark, Delaware · or 39.68, -75.75",
            help="A place name, optionally with its province or country after a comma, searched in the "
                 "gazetteer (misspellings are found too); or a latitude and a longitude.",
        ).strip()
        if typed:
            found = find_cached(engine, typed, forms[0])  # a point is named as the article spells it
            if found.message:
                st.error(ui.md_escape(found.message))
            else:
                choices = found.candidates
                match = st.selectbox(
                    "Matches", range(len(choices)), key=f"found:{key}:{typed}",
                    format_func=lambda i: ui.candidate_label(choices[i], gazetteer=gazetteer),
                )
                if st.button("Use this place", key=f"savefound:{key}", width="stretch", type="primary"):
                    problem = _apply(engine, state, article_id, target, choices[match])

        fixed = sorted({m.text for m in place.mentions if m.corrected})
        if fixed and st.button("Undo correction", key=f"undo:{key}", width="stretch"):
            problem = undo(engine, fixed, (context, "*"))
            if not problem:
                st.rerun()
        if problem:
            st.error(ui.md_escape(problem))


def saved_list(engine: Engine) -> None:
    """The sidebar's "Your corrections": each one in words, with a button to remove it."""
    saved = engine.corrections.all()
    with st.expander(f"Your corrections ({len(saved)})"):
        if engine.corrections.problem:
            st.warning(ui.md_escape(engine.corrections.problem))
        if not saved:
            st.caption("None yet. Pick a place and use “Is this the right place?” to fix a reading.")
        for i, fix in enumerate(saved):
            st.text(ui.correction_label(fix, gazetteer=engine.gazetteer))
            if st.button("Remove", key=f"rmfix:{i}:{fix.name}:{fix.context}"):
                problem = undo(engine, [fix.name], [fix.context])
                if problem:
                    st.error(ui.md_escape(problem))
                else:
                    st.rerun()
