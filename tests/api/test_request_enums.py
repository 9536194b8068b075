"""A request field or query filter that takes one of a fixed set of values says which in
/openapi.json, as the domain names them, so a generated client refuses a typo when it compiles;
a value outside the set still gets the field's own code."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from tests.api.test_openapi import COMPONENTS, document
from tests.conftest import Server, User
from tests.support import CASES, SANCTIONS, assert_error
from townhall.domain.enforcement import AppealState, AppealVerdict, Kind, SanctionState, SubjectType
from townhall.domain.moderation import Surface
from townhall.domain.review import QueueState, Source, Target, Verdict

APPEALS = "/api/v1/admin/appeals"
BODY_FIELDS: list[tuple[str, str, type[StrEnum]]] = [
    ("ReportIn", "target_type", Target),
    ("ReviewDecisionIn", "decision", Verdict),
    ("BulkDecisionIn", "decision", Verdict),
    ("AppealDecisionIn", "verdict", AppealVerdict),
    ("SanctionIn", "subject_type", SubjectType),
    ("SanctionIn", "kind", Kind),
    ("TextCheckIn", "surface", Surface),
]
QUERY_FILTERS: list[tuple[str, str, type[StrEnum]]] = [
    (CASES, "state", QueueState),
    (CASES, "source", Source),
    (SANCTIONS, "subject_type", SubjectType),
    (SANCTIONS, "state", SanctionState),
    (f"{SANCTIONS}/standing", "subject_type", SubjectType),
    (APPEALS, "state", AppealState),
]


def listed_values(schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """The values a schema allows, through its component and an optional null."""
    if "$ref" in schema:
        return listed_values(components[schema["$ref"].removeprefix(COMPONENTS)], components)
    for choice in schema.get("anyOf", ()):
        if choice.get("type") != "null":
            return listed_values(choice, components)
    values: list[str] = schema["enum"]
    return values


async def test_body_fields_of_a_fixed_set_list_the_domains_values(server: Server) -> None:
    components = (await document(server))["components"]["schemas"]
    for model, field, values in BODY_FIELDS:
        schema = components[model]["properties"][field]
        assert listed_values(schema, components) == list(values), (model, field)


async def test_query_filters_of_a_fixed_set_list_the_domains_values(server: Server) -> None:
    spec = await document(server)
    components = spec["components"]["schemas"]
    for path, name, values in QUERY_FILTERS:
        parameters = spec["paths"][path]["get"]["parameters"]
        (schema,) = [p["schema"] for p in parameters if p["name"] == name and p["in"] == "query"]
        assert listed_values(schema, components) == list(values), (path, name)


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        (SANCTIONS, {"state": "gone"}, "state_invalid"),
        (SANCTIONS, {"subject_type": "planet"}, "subject_type_invalid"),
        (APPEALS, {"state": "lost"}, "state_invalid"),
    ],
)
async def test_a_filter_outside_its_set_gets_the_fields_code_naming_the_choices(
    admin: User, path: str, params: dict[str, str], code: str
) -> None:
    answer = await admin.raw("GET", path, params=params)
    assert_error(answer, 400, code)
    ((name, sent),) = params.items()
    message = answer.json()["error"]["message"]
    assert f"{name} must be " in message
    assert sent not in message
