"""HTML → PDF for every printed document (notices, check reports, payment rolls): WeasyPrint, A4, the CJK font
embedded as a subset, and one shared print stylesheet (`templates/pdf/print.css`).

A document may load nothing but that stylesheet: the fetcher refuses any other file and the network, so nothing a
person typed into a record can make the renderer read the server's files.
"""

from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from django.template.loader import get_template
from weasyprint.urls import URLFetcher

STYLESHEET = "pdf/print.css"


class StylesheetOnlyFetcher(URLFetcher):
    """Fetches the print stylesheet's directory's .css files and nothing else."""

    def __init__(self, directory: Path) -> None:
        super().__init__(allowed_protocols=("file",), fail_on_errors=True)
        self._directory = directory.resolve()

    def fetch(self, url, headers=None):
        path = Path(unquote(urlsplit(url).path)).resolve()
        if urlsplit(url).scheme != "file" or path.parent != self._directory or path.suffix != ".css":
            raise ValueError(f"refused to fetch {url}")
        return super().fetch(url, headers)


def stylesheet_directory() -> Path:
    return Path(get_template(STYLESHEET).origin.name).parent


def render(html: str) -> bytes:
    """A document's HTML (linking `print.css`) as PDF bytes."""
    directory = stylesheet_directory()
    return weasyprint.HTML(
        string=html, base_url=directory.as_uri() + "/", url_fetcher=StylesheetOnlyFetcher(directory)
    ).write_pdf()
