"""Every name and every profile text through the same two checks: the pack's naming rules, then
the lexicon on the `name` surface. Display names, bios, group titles and descriptions, and
public-account names and descriptions all come here, at creation and at every change."""

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
        allow some reserved terms) and a text (description, bio) with links or contact details;
        then screen both against the lexicon, recording a statement of reasons for a block."""
        if name:
            self._rules.refuse(name, category=category)
        if text:
            self._rules.refuse_contacts(text)
        screened = "\n".join(part for part in (name, text) if part)
        if screened:
            await self._check.screen(
                Surface.NAME, screened, author_id=author_id, subject_type=subject_type
            )
