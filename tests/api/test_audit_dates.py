"""The authority's views take any date a person might type, the extreme ones included, and
answer 400 `date_invalid` for one outside what Townhall can hold — never 500."""

from __future__ import annotations

import pytest

from tests.conftest import MakeStaff
from tests.support import assert_error

VIEWS = ["cases", "sanctions", "reports", "escalations", "stats", "queues"]
OUT_OF_RANGE = [
    ("since", "0001-01-01"),
    ("until", "9999-12-31"),
    ("since", "0001-01-01T00:00:00"),
    ("since", "0001-01-01T00:00:00-12:00"),
    ("until", "9999-12-31T23:59:59+14:00"),
    ("since", "1900-01-01"),
    ("since", "1969-12-30"),
    ("until", "99999-01-01"),
    ("since", "-0001-01-01"),
    ("since", "2024-13-01"),
    ("since", "2024-02-30"),
    ("until", "2024-05-01T25:00:00"),
    ("since", "1e309"),
]


@pytest.mark.parametrize("view", VIEWS)
async def test_extreme_dates_are_refused_clearly(make_staff: MakeStaff, view: str) -> None:
    auditor = await make_staff("auditor")
    for name, value in OUT_OF_RANGE:
        answer = await auditor.raw("GET", f"/api/v1/audit/{view}", params={name: value})
        assert_error(answer, 400, "date_invalid")
    for name, value in (("since", "1970-01-01"), ("until", "9998-12-31")):
        answer = await auditor.raw("GET", f"/api/v1/audit/{view}", params={name: value})
        assert answer.status_code == 200, (name, value, answer.text)
