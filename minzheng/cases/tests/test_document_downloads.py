"""A double click on a notice's link sends two requests: the officer gets the notice twice, the audit trail shows one
export (issue 15 §4). Later downloads and other officers' downloads stay exports of their own."""

import datetime
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.core import audit
from minzheng.core.models import AuditEntry


def exports(case):
    return AuditEntry.objects.filter(action="export", object_type="case", object_id=str(case.pk))


def test_a_double_click_is_one_export(client, apply, officers, monkeypatch):
    monkeypatch.setattr(audit, "REPEAT_SECONDS", 600)  # a double click on a loaded machine: the render may take > 5 s
    case = apply()
    client.force_login(officers["clerk"])
    url = reverse("cases:document", args=[case.pk, "acceptance"])
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content.startswith(b"%PDF-") and second.content == first.content
    entry = exports(case).get()
    assert entry.user == officers["clerk"] and entry.detail == {"document": "acceptance"}
    assert audit.verify_chain()[1] == []


def test_a_later_download_and_another_officers_are_exports_of_their_own(client, apply, officers, monkeypatch):
    case = apply()
    url = reverse("cases:document", args=[case.pk, "acceptance"])
    client.force_login(officers["clerk"])
    client.get(url)
    client.force_login(officers["reviewer"])
    client.get(url)
    assert exports(case).count() == 2
    later = timezone.now() + datetime.timedelta(seconds=audit.REPEAT_SECONDS + 1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    client.force_login(officers["clerk"])
    assert client.get(url).status_code == 200
    assert [e.user for e in exports(case).order_by("seq")] == [
        officers["clerk"],
        officers["reviewer"],
        officers["clerk"],
    ]
    assert audit.verify_chain()[1] == []


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_the_same_moment_write_one_export(regions, apply, officers):
    """Real concurrency: two threads, two database connections, one officer's double click."""
    case = apply()
    url = reverse("cases:document", args=[case.pk, "acceptance"])
    barrier, responses = threading.Barrier(2), []

    def click():
        try:
            browser = Client()
            browser.force_login(officers["clerk"])
            barrier.wait()
            responses.append(browser.get(url))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in responses] == [200, 200]
    assert all(r.content.startswith(b"%PDF-") for r in responses)
    assert exports(case).count() == 1
    assert audit.verify_chain()[1] == []
