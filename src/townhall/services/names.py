"""Every name and every profile text through the same two checks: the pack's naming rules, then
the lexicon on the `name` surface. Display names, bios, group titles and descriptions, and
public-account names and descriptions all come here, at creation and at every change; a remark,
which only its writer reads, too, without the reserved terms."""

from __future__ import annotations

from townhall.domain.moderation import Surface
from townhall.domain.naming import NameChecker, NamingRules
from townhall.services.moderation import ContentCheck


class Names:
    def __init__(self, content_check: ContentCheck, rules: NamingRules) -> None:
        self._check = content_check
        self._rules = NameChecker(rules)

    def clean(self, name: str, *, max_chars: int) -> str:
        """A public account's name as stored: trimmed, within length, with a letter or digit."""
        return self._rules.clean(name, max_chars=max_chars)

    async def check(
        self,
        *,
        name: str | None = None,
        category: str | None = None,
        text: str | None = None,
        author_id: int | None,
        subject_type: str,
    ) -> None:
        """Refuse a name that breaks the naming rules (`category`: a public account's, which may
        allow some reserved terms) and a text (a description, a bio) with links or contact
        details: the reserved terms (新闻, 法院, "news") are words of everyday prose, and a text
        is read beside the name it describes. Then screen both against the lexicon, recording a
        statement of reasons for a block."""
        if name:
            self._rules.refuse(name, category=category)
        if text:
            self._rules.refuse_contacts(text)
        await self._screen(name, text, author_id=author_id, subject_type=subject_type)

    async def check_private(self, name: str, *, author_id: int, subject_type: str) -> None:
        """A name only its writer reads (a friend's remark): nobody is misled by it, so the
        reserved terms do not apply (a friend who works at 新华社 may be remembered so); links,
        contact details and the lexicon do, as in every name."""
        self._rules.refuse_contacts(name)
        await self._screen(name, author_id=author_id, subject_type=subject_type)

    async def _screen(self, *parts: str | None, author_id: int | None, subject_type: str) -> None:
        screened = "\n".join(part for part in parts if part)
        if screened:
            await self._check.screen(
                Surface.NAME, screened, author_id=author_id, subject_type=subject_type
            )
