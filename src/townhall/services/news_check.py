"""The news gate's second half: posts of accounts without news entitlement read for
current-affairs news whatever class they claim (domain/news_check.py), the pack's classifier
adding its score when one is named and loaded."""

from __future__ import annotations

from townhall.domain.moderation import Reason
from townhall.domain.news_check import (
    NewsCheckRules,
    NewsDetector,
    classifier_signal,
    hold_reasons,
)
from townhall.services.classifiers import ClassifierStage


class NewsCheck:
    def __init__(self, rules: NewsCheckRules, classifiers: ClassifierStage) -> None:
        self._rules = rules
        self._detector = NewsDetector(rules)
        self._classifiers = classifiers

    async def reasons(self, text: str) -> tuple[Reason, ...]:
        """Why the text is held as possible unlicensed news: none when it does not read as news.
        Without its classifier (not loaded yet, or failing) the patterns and terms decide."""
        signals = self._detector.signals(text)
        rule = self._rules.classifier
        if rule is not None:
            scores = await self._classifiers.score_now(rule.name, text)
            signal = classifier_signal(rule, scores or {})
            if signal is not None:
                signals.append(signal)
        return hold_reasons(signals, self._rules)
