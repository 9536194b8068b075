"""The API's error messages in the caller's language.

`Accept-Language` picks one of the catalogs shipped under `api/locale` (Babel negotiates it;
English, the language the server raises its messages in, when none fits). A catalog is a
gettext `.po` file keyed by each error code's meaning (domain/errors.py), so a code reads the
same whatever raised it, plus the words of the fixed vocabularies a message names (the
moderation categories of a `content_blocked`). tests/api/test_error_catalog.py holds each
catalog to the codes: none missing, none left over.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.pofile import read_po

from townhall.domain.errors import DomainError, ErrorCode

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "errors"
MAX_LANGUAGES = 16  # of an Accept-Language header: more is no one's real preference
# How a meaning and what the refusal names go together, and how the names are listed: each
# catalog words them for its language.
WITH_SUBJECTS = "{meaning}: {subjects}"
LIST_SEPARATOR = ", "


def catalog_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogs() -> dict[str, dict[str, str]]:
    """Each shipped locale's translations, by the English they translate."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with path.open("rb") as po:
            catalog = read_po(po)
        found[path.parents[1].name] = {
            str(message.id): str(message.string)
            for message in catalog
            if message.id and message.string
        }
    return found


def preferred_languages(header: str) -> list[str]:
    """The tags of an Accept-Language header, most wanted first, each followed by its
    primary language (`zh-TW` → `zh_TW`, `zh`), in Babel's `_` form."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:MAX_LANGUAGES]):
        tag, _, parameter = part.strip().partition(";")
        quality = 1.0
        name, _, value = parameter.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag.strip().replace("-", "_")))
    tags: list[str] = []
    for _, _, tag in sorted(weighted):
        tags += [tag, tag.split("_")[0]]
    return tags


def negotiate(header: str | None) -> str | None:
    """The shipped locale that best fits the header; None: the messages as raised."""
    if not header:
        return None
    available = list(catalogs())
    primaries = {locale.split("_")[0]: locale for locale in available}
    chosen = negotiate_locale(preferred_languages(header), [*available, "en"], aliases=primaries)
    if chosen is None:
        return None
    return next((locale for locale in available if locale.lower() == chosen.lower()), None)


def translated(
    code: ErrorCode, message: str, locale: str | None, subjects: tuple[str, ...] = ()
) -> str:
    """`message` in `locale`: the code's meaning as the catalog words it, followed by what the
    refusal names (translated where the catalog has the word); `message` as it is otherwise."""
    words = catalogs().get(locale or "")
    if words is None or code.meaning not in words:
        return message
    meaning = words[code.meaning]
    if not subjects:
        return meaning
    named = words.get(LIST_SEPARATOR, LIST_SEPARATOR).join(words.get(s, s) for s in subjects)
    return words.get(WITH_SUBJECTS, WITH_SUBJECTS).format(meaning=meaning, subjects=named)


def localized(error: DomainError, header: str | None) -> str:
    return translated(error.code, error.message, negotiate(header), error.subjects)
