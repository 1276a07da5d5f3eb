"""/favicon.ico answers with an icon (issue 15 §3: it was a 404 on every page load)."""

import io

import pytest
from django.contrib.staticfiles import finders
from PIL import Image


@pytest.mark.django_db
def test_favicon_is_served_and_is_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.ico")
    path = finders.find("favicon.ico")
    assert path, "the icon is a static file"
    with open(path, "rb") as fh:
        icon = Image.open(io.BytesIO(fh.read()))
    assert icon.format == "ICO" and {(16, 16), (32, 32)} <= set(icon.info["sizes"])
    page = client.get("/accounts/login/").content.decode()
    assert 'rel="icon"' in page and "favicon.ico" in page
