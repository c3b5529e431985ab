"""Name normalisation, and the word lists the data readers, gazetteer, recogniser and resolver share.

Every shared word list lives here (the recogniser's own lists and cut-offs are its ``RecognitionSettings``).

One function decides when two spellings are "the same name", so the index
built from GeoNames and the lookups made from article text always agree:
accents and case are ignored ("Spin Boldak" finds "Spīn Bōldak"), dots and
apostrophes are dropped ("U.S." -> "us"), and a leading article is removed.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_/]+")
_DROPPED_CHARS = frozenset(".'’‘`ʻʼ´\"“”(),")  # dots, apostrophes, quotes and brackets: "U.S." -> "us"
_DROPPED = re.compile("[" + re.escape("".join(sorted(_DROPPED_CHARS))) + "]")
_LEADING_ARTICLE = re.compile(r"^the\s+")
# Characters that NFKD does not split into base letter + mark.
_FOLD = str.maketrans(
    {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ß": "ss", "æ": "ae", "œ": "oe", "ħ": "h"}
)
_FOLD_LETTERS = re.compile("[" + re.escape("".join(map(chr, _FOLD))) + "]")


def _decomposed(folded: str) -> str:
    """A case-folded name as base letters and marks (NFKD), with the letters NFKD leaves alone folded first ("ł"
    -> "l"): the folding ``normalize`` and ``is_latin`` share. Most names have none of those letters, and looking
    for them is several times cheaper than ``str.translate`` on a string that is not ASCII."""
    return unicodedata.normalize("NFKD", folded.translate(_FOLD) if _FOLD_LETTERS.search(folded) else folded)


@functools.lru_cache(maxsize=1 << 16)
def normalize(name: str) -> str:
    """Fold a place name to its lookup key.

    Cached: recognition folds the same words and word runs many times per article.
    """
    folded = name.casefold()
    if not folded.isascii():  # plain ASCII has no accents to strip
        folded = _decomposed(folded)
        if not folded.isascii():
            folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    if folded.isascii() and folded.replace(" ", "").isalnum() and "  " not in folded and folded[0] != " " != folded[-1]:
        # already a key (ASCII words of letters and digits, single spaces: most names): nothing to drop or join
        return folded[4:] if folded.startswith("the ") else folded
    folded = _DROPPED.sub("", folded)
    folded = _SEPARATORS.sub(" ", folded).strip()
    return _LEADING_ARTICLE.sub("", folded)


# Arabic's article as GeoNames transliterates it, assimilated to the next letter ("Ar Raqqah", "Aş Şanamayn").
ARABIC_ARTICLES = frozenset({"al", "el", "ar", "as", "az", "an", "ad", "ash", "at", "ath", "adh"})
ARABIC_BARE_MIN_LETTERS = 4  # "Al Ain" -> "Ain" is too short to tell from a word or another place


def without_arabic_article(norm: str) -> str:
    """A normalised Arabic place name without its leading article ("al qamishli" -> "qamishli"), or "".

    English news mostly drops the article GeoNames keeps: "Qamishli", "Hodeidah", "Diwaniyah".
    """
    article, _, rest = norm.partition(" ")
    if article in ARABIC_ARTICLES and len(rest.replace(" ", "")) >= ARABIC_BARE_MIN_LETTERS:
        return rest
    return ""


# Abbreviations a place's own name is written with: "St. Petersburg" is Saint Petersburg's own name written short,
# not an old or foreign name of it.
NAME_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort", "pt": "point"}
# English words written short with a dot ("Dr. Smith", "No. 2", "Jr."): a country's initials that spell one
# ("DR", the Dominican Republic) are not taken as the country.
DOTTED_WORDS = frozenset(
    {*NAME_ABBREVIATIONS, "dr", "mr", "mrs", "ms", "jr", "sr", "no", "co", "vs", "gov", "sen", "rep"}
)


def same_name(written: str, name: str) -> bool:
    """Whether ``written`` is ``name`` up to abbreviations such as "St." for "Saint" and "Mt." for "Mount"."""

    def expanded(text: str) -> str:
        return " ".join(NAME_ABBREVIATIONS.get(word, word) for word in normalize(text).split())

    return expanded(written) == expanded(name)


def written_shorter(name: str) -> list[str]:
    """How news writes a formal name shorter, normalised: "Saint" as "St." ("St. Lucia", the country), and "of the"
    without its article ("Democratic Republic of Congo"). Empty when neither applies."""
    words = normalize(name).split()
    forms = []
    if len(words) > 1 and words[0] in _LONG_FORMS:
        forms.append([_LONG_FORMS[words[0]], *words[1:]])
    for form in [words, *forms]:
        dropped = [w for i, w in enumerate(form) if not (w == "the" and 0 < i < len(form) - 1 and form[i - 1] == "of")]
        if dropped != form:
            forms.append(dropped)
    return [" ".join(form) for form in forms]


_LONG_FORMS = {long: short for short, long in NAME_ABBREVIATIONS.items() if long == "saint"}


def is_latin(name: str) -> bool:
    """True when every letter is Latin once accents are removed (the only names English text uses)."""
    folded = name.casefold()
    if folded.isascii():  # ASCII letters fold to a-z
        return True
    # normalize()'s folding, stopping at the first letter of another script (most of GeoNames' alternate names
    # are Cyrillic, Arabic or Chinese), without building the key: marks and dropped characters are skipped
    decomposed = _decomposed(folded)
    return all(
        ("a" <= ch <= "z") or not ch.isalpha() or unicodedata.combining(ch) or ch in _DROPPED_CHARS
        for ch in decomposed
    )


GENERIC_SUFFIXES = (
    "province",
    "state",
    "district",
    "county",
    "region",
    "governorate",
    "oblast",
    "prefecture",
    "municipality",
    "city",
    "town",
    "village",
    "area",
    "metropolitan area",
    "metro area",
)
ADMIN_SUFFIXES = frozenset(GENERIC_SUFFIXES[:8])
GENERIC_PREFIXES = (
    "city of ",
    "town of ",
    "province of ",
    "state of ",
    "greater ",
    "downtown ",
    "central ",
    "northern ",
    "southern ",
    "eastern ",
    "western ",
    "north ",
    "south ",
    "east ",
    "west ",
)


def variants(name: str) -> list[tuple[str, bool]]:
    """Shorter forms to try when a name is not in the gazetteer as written.

    "Karak district" -> "karak", "City of London" -> "london",
    "northern Syria" -> "syria". The flag says whether an administrative word
    was removed (so the resolver prefers provinces for "Kandahar province").
    """
    norm = normalize(name)
    out: list[tuple[str, bool]] = []
    for suffix in GENERIC_SUFFIXES:
        if norm.endswith(" " + suffix):
            out.append((norm[: -len(suffix) - 1].strip(), suffix in ADMIN_SUFFIXES))
    for prefix in GENERIC_PREFIXES:
        if norm.startswith(prefix):
            out.append((norm[len(prefix) :].strip(), prefix.strip() in ADMIN_SUFFIXES))
    if norm.endswith("s") and len(norm) > 4:
        out.append((norm[:-1], False))  # "Emiratis" -> "emirati" is handled by demonyms; "Alps"? no harm
    return [(v, admin) for v, admin in out if v and v != norm]


# Words that name a province or region somewhere ("Centre", France; "Lakes", South Sudan) but in English
# text are almost always ordinary words. A lone one is not recognised without the model's say-so.
GENERIC_WORDS = frozenset(
    "centre center central north south east west northern southern eastern western northeast northwest "
    "southeast southwest middle capital coast coastal lakes islands island river valley mountains highlands "
    "lowlands plains delta border interior upper lower greater metro downtown city town village".split()
)


# What a building, body or street is ("University of California", "Carnegie Library", "Royal Street"): a word of a
# name that is one of these says what the named thing is, not where, though a town somewhere bears it
# (University, Florida; Temple, Texas; College, Alaska). A part of an unknown name made only of them is no reading.
INSTITUTION_WORDS = frozenset(
    "university college school academy institute hospital clinic church cathedral chapel mosque temple synagogue "
    "museum library gallery theatre theater embassy consulate ministry department office council parliament "
    "congress senate court prison jail house hall tower castle palace fort stadium arena centre center mall market "
    "hotel station port bank company club team street road avenue lane boulevard square bridge park garden gardens "
    "zoo cemetery graveyard farm plantation canal lagoon".split()
)
# Words after a place's name that make the whole a public body serving that place, not a place: "Metcalfe County
# Sheriff's Office", "Los Angeles County Fire Department", "Toronto Police". The place in such a name is the
# jurisdiction the story is about; a name of several words that ends with one and holds no place ("the Highway
# Patrol", "South Central Ambulance Service") is no place at all. Buildings ("Barren County Detention Center", "Cook
# County Jail") are places, and are not listed; nor are courts, which news names as much as buildings ("at Cook
# County Court").
PUBLIC_BODY_WORDS = frozenset(
    "police constabulary patrol guard sheriff coroner fire ambulance paramedics schools government department council "
    "commission authority board parliament assembly legislature health service services".split()
)
# Words that may stand between a place's name and a public body's word ("Toronto City Council").
JURISDICTION_WORDS = frozenset("city state county district borough municipal metropolitan regional provincial".split())
# Kinds of place that run far from any one town: an approximate reading of one is far from much of it.
WIDE_KIND_WORDS = frozenset(
    "river rivers mountains range valley desert sea lake basin plain plains plateau coast peninsula islands "
    "ocean gulf delta forest region highlands lowlands".split()
)


def country_stems(demonym: str) -> list[str]:
    """Country names a demonym may be built on: "uzbek" -> "uzbekistan", "russian" -> "russia"."""
    norm = normalize(demonym)
    stems = (norm + "istan", norm[:-1], norm[:-2], norm[:-3] if norm.endswith("ian") else "")
    return [stem for stem in stems if len(stem) >= 4]


# How an area's name goes on from the name of its people: Kurd-istan, Engl-and, Zulu-land, Serb-ia, Texa-s;
# or the people's name is the area's first word ("Tamil Nadu", "Basque Provinces").
AREA_ENDINGS = ("", "istan", "stan", "land", "and", "ia", "a", "s")


def names_area(stem: str, area: str) -> bool:
    """Whether the (folded) area name ``area`` is built on ``stem``: "kurd", "kurdistan" but not "sunn",
    "sunnerbo", "democrat", "democratic republic of the congo" or "grand", "grand est"."""
    if not area.startswith(stem):
        return False
    rest = area[len(stem) :]
    if rest in AREA_ENDINGS:
        return True
    # "Tamil Nadu", not "Grand Est" (a compass word) or "Republic of the Congo" (a phrase on a common word).
    words = rest.split()
    return rest.startswith(" ") and words[0] != "of" and not set(words) <= GENERIC_REGION_WORDS


# Words after a name that say it is a province or district ("Sichuan province", "Karak district").
ADMIN_WORDS = frozenset(
    [
        "province",
        "state",
        "region",
        "oblast",
        "governorate",
        "county",
        "prefecture",
        "department",
        "district",
        "territory",
        "canton",
        "voivodeship",
    ]
)

# Division words for a second-level unit in English news ("Suffolk county", "Orleans parish"): the name is a
# county, not only a province (rule county_word). Not "district": one country's district is another's province,
# and a district abroad is rarely what an article means ("Giza's Haram district" is not Haram, Norway).
COUNTY_WORDS = frozenset({"county", "parish", "borough"})


def _plural(word: str) -> str:
    if word.endswith("y"):
        return word[:-1] + "ies"  # counties, territories
    return word + ("es" if word.endswith(("sh", "s")) else "s")  # parishes, provinces


# "Dallas and Tarrant counties", "Hunan and Hubei provinces", "Donetsk and Luhansk regions": a division word's
# plural after a list names each member's kind (rule division_word_after_list).
ADMIN_PLURALS = {_plural(word): word for word in ADMIN_WORDS | COUNTY_WORDS}
_LISTED_THEN_PLURAL = re.compile(
    r"((?:(?:\s*,\s*|\s+(?:and|or|&)\s+|\s+)[A-Z][\w'’.-]*){0,8}?)\s+(" + "|".join(sorted(ADMIN_PLURALS)) + r")\b"
)
_LISTED_BEFORE = re.compile(r"[A-Z][\w'’.-]*(?:\s*,\s*|\s+(?:and|or|&)\s+)$")


def division_word_after(text: str, start: int, end: int) -> str | None:
    """The division word whose plural follows the name at ``start:end`` at the end of a list of names
    ("Tarrant" in "Dallas and Tarrant counties", "Cook" in "Cook, DuPage and Will counties"): "county". Not one
    name before a plural ("the Gulf states", "the Pacific states": the states of a region, not a province)."""
    found = _LISTED_THEN_PLURAL.match(text, end, end + 200)
    if found is None or not (found.group(1) or _LISTED_BEFORE.search(text, max(0, start - 60), start)):
        return None
    return ADMIN_PLURALS[found.group(2)]

COMPASS_WORDS = frozenset({"north", "south", "east", "west", "central"})
# Words that alone do not name a region: "South", "Western Region", "Nord-Ovest", "Region 1".
GENERIC_REGION_WORDS = COMPASS_WORDS | frozenset(
    "northern southern eastern western northeast northwest southeast southwest mid region regions area zone "
    "nord sud est ouest ovest norte sur oeste este centre centro".split()
)


def area_stems(demonym: str) -> list[str]:
    """Beginnings of the name of the area a people is named after, for demonyms of no country: "kurdish" ->
    "kurd" (Kurdistan), "english" -> "engl" (England), "punjabi" -> "punjab", "texan" -> "texa", "basque"."""
    norm = normalize(demonym)
    if " " in norm or norm in GENERIC_REGION_WORDS:
        return []
    if norm.endswith("ish"):
        stems = [norm[:-3]]
    elif norm.endswith(("an", "i")):
        stems = [norm[:-1]]
    else:
        stems = [norm]
    return [stem for stem in stems if len(stem) >= 4]


# North America's time zones as news writes them after a clock time ("7 a.m. CT", "8 p.m. EDT"): the countries
# that keep them (rule time_zone_country). Zones other places abbreviate alike ("IST": India, Ireland, Israel) are
# not listed; "CST" is also China's, but English-language news writes Beijing's time as "Beijing time".
NORTH_AMERICAN_TIME_ZONES = frozenset("ET EST EDT CT CST CDT MT MST MDT PT PST PDT".split())
TIME_ZONE_COUNTRIES = ("US", "CA")
ALASKA_HAWAII_TIME_ZONES = frozenset("AKST AKDT AKT HST HT".split())  # the United States only

# Words that make a marine polygon's name a water body's name ("Gulf of Aden", "Storfjorden").
WATER_WORDS = frozenset(
    "sea seas ocean gulf bay bight strait straits channel sound passage inlet fjord basin entrance reef "
    "lake lakes river golfo golfe bahia baia lagoa lago estrecho canal seno haff bucht zee guba ozero".split()
)
WATER_SUFFIXES = ("fjorden", "sund", "kat", "rak")
# Kind words that alone name the big body of that kind the story is near: "the Gulf" (the Persian Gulf in a story
# on Qatar, the Gulf of Mexico in one on Louisiana), "the Channel", "the Strait".
SHORT_WATER_WORDS = frozenset({"gulf", "channel", "strait"})
# Words that say what kind of thing a name is, not which: an unknown name is not read through them alone
# ("Biscayne Bay" is not Bay Village, "Hocking Hills" not Hills, Iowa).
KIND_WORDS = (
    INSTITUTION_WORDS
    | WIDE_KIND_WORDS
    | WATER_WORDS
    | GENERIC_WORDS
    | frozenset(w for suffix in GENERIC_SUFFIXES for w in suffix.split())
    | frozenset(
        "union republic kingdom empire federation commission committee summit hill hills mount mountain peak "
        "falls beach beaches isle cape point head springs creek canyon gorge glacier volcano reserve resort".split()
    )
)
