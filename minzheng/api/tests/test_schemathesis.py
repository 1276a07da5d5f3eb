"""Issue 18 §5: schemathesis over the whole OpenAPI schema of /api/v1 — every operation, valid and invalid data
(bounded: a few examples each, the whole run well under two minutes) — through the WSGI application, authenticated as
a county officer with a household and a case in scope. No answer may be a server error (5xx)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode

from minzheng.conftest import COUNTY, make_id_number

pytestmark = pytest.mark.schemathesis

MAX_EXAMPLES = 8


@pytest.fixture
def officer_data(db, make_user, household_data) -> dict:
    """A county officer (区县审批) of 张北县, as in the demo: a household of two and an application in scope."""
    from minzheng.accounts.services import issue_token
    from minzheng.cases import services as cases
    from minzheng.registry import services as registry

    officer = make_user("county_approver", region=COUNTY, username="schemathesis")
    clerk = make_user("clerk")
    household = registry.create_household(
        clerk, household_data(members=[("02", "张三", make_id_number(seq=11)), ("12", "李四", make_id_number(seq=22))])
    )
    case = cases.open_application(
        clerk,
        household_id=household.pk,
        service_code="dibao",
        applicant_id=household.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "income_statement"],
        authorisation_signed=True,
        pledge_signed=True,
    )
    token = issue_token(officer, "schemathesis")[1]
    return {"token": token, "household_id": household.pk, "person_id": household.head_id, "case_id": case.pk}


@pytest.fixture
def officer_token(officer_data) -> str:
    return officer_data["token"]


def _load_schema():
    """The schema the application serves at /api/v1/openapi.json, called in-process through the WSGI application.
    (Built at collection, without the database: schemathesis' lazy fixture loader does not run on pytest 9.)"""
    from django.core.handlers.wsgi import WSGIHandler

    from minzheng.api.router import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = WSGIHandler()
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return loaded


schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the request signals must not close the test's database connection (it holds the
    test's transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case, officer_token):
    response = case.call(headers={"Authorization": f"Bearer {officer_token}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}\n"
        f"path={case.path_parameters} query={case.query} body={case.body!r}\n{response.text[:2000]}"
    )


HUGE = 721215900041001304064  # beyond every database's integer range


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _is_integer(spec: dict, node: dict) -> bool:
    node = _resolve(spec, node)
    return node.get("type") == "integer" or any(_is_integer(spec, n) for n in node.get("anyOf", []))


def _example(spec: dict, node: dict, ids: dict, name: str = ""):
    """A minimal valid-looking value of a schema: the officer's own record for an id, so the request reaches the
    database with only the huge number wrong."""
    node = _resolve(spec, node)
    if "anyOf" in node:
        return _example(spec, next(n for n in node["anyOf"] if n.get("type") != "null"), ids, name)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        return {
            k: _example(spec, v, ids, k) for k, v in node.get("properties", {}).items() if k in node.get("required", [])
        }
    if kind == "integer":
        return ids.get(name, 1)
    if kind == "string":
        return "2026-12-01" if node.get("format") == "date" else "测试"
    return {"boolean": False, "array": [], "number": 1}.get(kind, "测试")


def _huge_number_requests() -> list[tuple[str, str, str]]:
    """(method, path, where) for every integer parameter and JSON body field of the schema: each gets HUGE."""
    from minzheng.api.router import api

    spec = api.get_openapi_schema()
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                if _is_integer(spec, p.get("schema", {})):
                    found.append((method, path, f"{p['in']}:{p['name']}"))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                for name, prop in _resolve(spec, body).get("properties", {}).items():
                    if _is_integer(spec, prop):
                        found.append((method, path, f"body:{name}"))
    return found


@pytest.mark.parametrize(("method", "path", "where"), _huge_number_requests())
def test_a_huge_number_anywhere_is_refused_not_a_server_error(client, officer_data, method, path, where):
    """721215900041001304064 in each integer parameter or field (the random examples above rarely reach it): never a
    server error; refused with a Chinese message unless the number is a limit, which is clamped."""
    import json
    import re

    kind, name = where.split(":")

    def value(param: str) -> str:  # the huge number here; the officer's own records in the other path parameters
        return str(HUGE) if (kind, param) == ("path", name) else str(officer_data.get(param, 1))

    url = re.sub(r"\{(\w+)\}", lambda m: value(m.group(1)), path)
    from minzheng.api.router import api

    spec = api.get_openapi_schema()
    schema = spec["paths"][path][method].get("requestBody", {}).get("content", {}).get("application/json", {})
    body = _example(spec, schema["schema"], officer_data) if schema else {}
    if kind == "body":
        body[name] = HUGE
    if kind == "query":
        url += f"?{name}={HUGE}"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {officer_data['token']}"}
    if method == "get":
        response = client.get(url, **auth)
    else:
        response = getattr(client, method)(url, json.dumps(body), content_type="application/json", **auth)
    assert response.status_code < 500, (where, response.status_code, response.content[:500])
    if response.status_code >= 400:  # a limit is clamped (200); an id out of range is refused in Chinese
        assert re.search(r"[\u4e00-\u9fff]", response.json()["message"]), response.content[:500]
