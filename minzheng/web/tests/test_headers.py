"""Browser-side defences (issue 18 §4): a strict Content-Security-Policy on every page (no inline script or style
anywhere: the browser tests fail on any violation), `Cache-Control: no-store` on pages and API answers (they carry
personal data), and the API's documentation and schema only for signed-in staff or a token holder."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from minzheng.accounts.services import issue_token
from minzheng.registry import services

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Rendered to a PDF by WeasyPrint, never served to a browser.
NOT_SERVED = {"checks/report_pdf.html", "simulation/brief_pdf.html"}  # PDF sources (WeasyPrint), never served


def policy(response) -> dict[str, set[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: set(d.split()[1:]) for d in (part.strip() for part in header.split(";")) if d}


@pytest.fixture
def household(clerk, household_data):
    return services.create_household(clerk, household_data())


def test_every_kind_of_page_has_a_strict_policy(client, clerk_client, household):
    pages = [
        clerk_client.get(reverse("registry:household", args=[household.pk])),
        clerk_client.get(reverse("web:home")),
        clerk_client.get("/api/v1/docs"),
        clerk_client.get(reverse("registry:household", args=[10**9])),  # the 404 page
    ]
    client.logout()
    pages.append(client.get(reverse("login")))
    for response in pages:
        csp = policy(response)
        assert csp["default-src"] == {"'none'"} and csp["script-src"] == {"'self'"}, response.request["PATH_INFO"]
        assert csp["style-src"] == {"'self'"} and csp["frame-ancestors"] == {"'none'"}
        assert csp["object-src"] == {"'none'"} and csp["base-uri"] == {"'none'"} and csp["form-action"] == {"'self'"}
        assert not any("unsafe" in source for sources in csp.values() for source in sources)


@pytest.mark.parametrize("template", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")))
def test_no_template_has_an_inline_script_style_or_handler(template):
    if template in NOT_SERVED:
        return
    text = (TEMPLATES / template).read_text()
    scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text)
    assert scripts == [], "inline <script>: move it to minzheng/static/js"
    assert "<style" not in text and not re.search(r"\sstyle=", text), "inline style: use a class in minzheng.css"
    assert not re.search(r"\son[a-z]+=", text), "inline event handler: bind it in minzheng/static/js"
    assert "javascript:" not in text


def test_pages_and_api_answers_are_not_stored(client, clerk, clerk_client, household):
    token = issue_token(clerk, "t")[1]
    responses = [
        clerk_client.get(reverse("registry:household", args=[household.pk])),
        clerk_client.get(reverse("registry:person", args=[household.head_id])),
        clerk_client.get(reverse("registry:search"), {"q": "张"}),
        client.get(f"/api/v1/registry/persons/{household.head_id}", HTTP_AUTHORIZATION=f"Bearer {token}"),
    ]
    for response in responses:
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_static_files_keep_their_caching(client):
    response = client.get("/static/js/minzheng.js")
    assert response.status_code == 200 and "no-store" not in response.get("Cache-Control", "")


def test_the_api_docs_and_schema_need_a_login_or_a_token(client, clerk):
    docs, schema = client.get("/api/v1/docs"), client.get("/api/v1/openapi.json")
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("login"))
    assert schema.status_code == 401 and schema.json()["code"] == "unauthenticated"
    token = issue_token(clerk, "t")[1]
    assert client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION="Bearer mz_wrong").status_code == 401
    by_token = client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert by_token.status_code == 200 and "/api/v1/registry/households" in by_token.json()["paths"]
    client.force_login(clerk)
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
