"""HTML → PDF for every printed document (notices, check reports, payment rolls): WeasyPrint, A4, the CJK font
embedded as a subset, and one shared print stylesheet (`templates/pdf/print.css`).

A document may load nothing but that stylesheet: the fetcher refuses any other file and the network, so nothing a
person typed into a record can make the renderer read the server's files.

Every document of a process is rendered on one long-lived thread that keeps one WeasyPrint `FontConfiguration`
(Pango's font map over fontconfig) for the life of the process. A configuration made per document, as WeasyPrint
does by default, redoes the font set-up each time: Pango 1.50 starts two threads per font description to match and
sort the installed fonts (64 thread starts for a one-page notice, each a hand-off that waits for a CPU on a busy
machine), reloads the CJK faces and their shaping tables, and the work grows with the number of fonts installed.
Pango's font map is not thread-safe, so the one configuration stays on the one thread and request threads (a
thread per request under runserver, a pool under a threaded WSGI server) hand their documents to it. Rendering is
CPU-bound Python, so the GIL would let no two renders of a process run at once anyway. Identical documents asked
for while one is being rendered (a double click) share that render. See docs/benchmarks.md, "Documents".
"""

import gc
import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from django.template.loader import get_template
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

STYLESHEET = "pdf/print.css"
THREAD_NAME = "pdf-renderer"


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


def convert(html: str, directory: Path, font_config: FontConfiguration | None = None) -> bytes:
    """WeasyPrint on the calling thread; `font_config` None makes a new one for this document (WeasyPrint's default)."""
    document = weasyprint.HTML(
        string=html, base_url=directory.as_uri() + "/", url_fetcher=StylesheetOnlyFetcher(directory)
    )
    return document.write_pdf(font_config=font_config)


class _Renderer:
    """The process's rendering thread, its font configuration and the documents being rendered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = None
        self.in_flight: dict[str, Future] = {}
        self.font_config: FontConfiguration | None = None  # touched only on the rendering thread
        self.thread_id: int | None = None

    def submit(self, html: str, directory: Path) -> Future:
        key = hashlib.sha256(html.encode()).hexdigest()
        with self.lock:
            future = self.in_flight.get(key)
            if future is None:
                if self.executor is None:
                    self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)
                future = self.executor.submit(self._render, key, html, directory)
                self.in_flight[key] = future
        return future

    def _render(self, key: str, html: str, directory: Path) -> bytes:
        try:
            self.thread_id = threading.get_ident()
            if self.font_config is None:
                self.font_config = FontConfiguration()
            # A render allocates hundreds of thousands of short-lived objects, and every full collection they
            # trigger also walks every object the server holds (Django, the apps, their libraries): frozen for the
            # render, those are skipped (a check report's CPU −15 %). Unfreezing hands them back to the collector.
            # A process that froze them itself (gc.freeze() at start-up) keeps its own arrangement.
            freeze = gc.get_freeze_count() == 0
            if freeze:
                gc.freeze()
            try:
                return convert(html, directory, self.font_config)
            finally:
                if freeze:
                    gc.unfreeze()
        finally:
            # Forgotten before the waiting threads wake: a later request for the same document renders afresh.
            with self.lock:
                self.in_flight.pop(key, None)


_renderer = _Renderer()


def _after_fork_in_child() -> None:
    # A forked worker (gunicorn --preload) inherits the parent's objects but not its threads: start afresh.
    global _renderer
    _renderer = _Renderer()


os.register_at_fork(after_in_child=_after_fork_in_child)


def render(html: str) -> bytes:
    """A document's HTML (linking `print.css`) as PDF bytes, rendered on the process's rendering thread."""
    directory = stylesheet_directory()
    if threading.get_ident() == _renderer.thread_id:  # a render asked for from inside a render
        return convert(html, directory, _renderer.font_config)
    return _renderer.submit(html, directory).result()
