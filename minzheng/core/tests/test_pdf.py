"""The PDF renderer: one rendering thread and one font configuration per process, documents from any thread, a
double click rendered once, a forked worker with a renderer of its own, the CJK font embedded as a subset and
nothing fetched but the print stylesheet."""

import io
import os
import signal
import threading

import pypdf
import pytest
from weasyprint.urls import FatalURLFetchingError

from minzheng.core import pdf

NOTICE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><link rel="stylesheet" href="print.css">
</head><body><h1>受理通知书</h1><p class="body">王大山：你于2025年3月3日提出的最低生活保障申请，本机关已依法受理。
{extra}</p></body></html>"""


def fonts(document: bytes) -> list[tuple[str, int]]:
    """(BaseFont, length of the embedded font program) of every font with an embedded program."""
    found = []
    for page in pypdf.PdfReader(io.BytesIO(document)).pages:
        for ref in ((page.get("/Resources") or {}).get("/Font") or {}).values():
            font = ref.get_object()
            for descendant in font.get("/DescendantFonts") or [font]:
                descriptor = descendant.get_object().get("/FontDescriptor")
                descriptor = descriptor.get_object() if descriptor else {}
                for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                    if key in descriptor:
                        found.append((str(font["/BaseFont"]), len(descriptor[key].get_object().get_data())))
    return found


def text(document: bytes) -> str:
    return "".join("".join((p.extract_text() or "").split()) for p in pypdf.PdfReader(io.BytesIO(document)).pages)


def test_documents_from_many_threads_render_on_one_thread_with_one_font_configuration(monkeypatch):
    results, seen = {}, []
    original = pdf.convert

    def watched(html, directory, font_config=None):
        seen.append((threading.current_thread().name, id(font_config)))
        return original(html, directory, font_config)

    monkeypatch.setattr(pdf, "convert", watched)
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, pdf.render(NOTICE.format(extra=f"第{i}号"))))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and len(set(seen)) == 1, seen
    assert seen[0][0].startswith(pdf.THREAD_NAME) and seen[0][1] != id(None)
    for i, document in results.items():
        assert f"第{i}号" in text(document)


def test_the_cjk_font_is_embedded_as_a_subset():
    document = pdf.render(NOTICE.format(extra=""))
    embedded = fonts(document)
    assert any("CJK" in name for name, _ in embedded), embedded
    for name, size in embedded:
        # A subset's name carries a six-letter tag; its program holds the outlines of the glyphs used (WeasyPrint
        # keeps the glyph numbering, so empty slots up to the highest one used remain), not the 19 MB collection.
        assert name[1:7].isalpha() and name[1:7].isupper() and name[7] == "+", name
        assert size < 2_000_000, (name, size)
    assert "受理通知书" in text(document)


def test_a_document_asked_for_twice_at_once_is_rendered_once(monkeypatch):
    started, release, submitted, calls = threading.Event(), threading.Event(), threading.Semaphore(0), []

    def slow(html, directory, font_config=None):
        calls.append(html)
        started.set()
        release.wait(10)
        return b"%PDF-1.7 rendered once"

    def counted(self, html, directory):
        future = submit(self, html, directory)
        submitted.release()
        return future

    submit = pdf._Renderer.submit
    monkeypatch.setattr(pdf, "convert", slow)
    monkeypatch.setattr(pdf._Renderer, "submit", counted)
    results = []
    threads = [threading.Thread(target=lambda: results.append(pdf.render(NOTICE.format(extra="双击")))) for _ in "12"]
    threads[0].start()
    assert started.wait(10)
    threads[1].start()
    assert submitted.acquire(timeout=10) and submitted.acquire(timeout=10)  # both asked while the first renders
    release.set()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results == [b"%PDF-1.7 rendered once"] * 2
    pdf.render(NOTICE.format(extra="双击"))  # once done, the same document is rendered afresh
    assert len(calls) == 2


def test_a_forked_worker_renders_on_a_thread_of_its_own():
    """gunicorn --preload forks after the parent may have rendered: the child must not wait on the parent's thread."""
    pdf.render(NOTICE.format(extra="父进程"))
    pid = os.fork()
    if pid == 0:  # the child: exit 0 if it renders within 60 s
        signal.alarm(60)
        try:
            ok = "子进程" in text(pdf.render(NOTICE.format(extra="子进程")))
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file:///etc/hostname.css",
        "http://127.0.0.1:9/print.css",
        "data:text/css,body{color:red}",
    ],
)
def test_nothing_but_the_print_stylesheet_is_fetched(url):
    directory = pdf.stylesheet_directory()
    for refused in (url, directory.as_uri() + "/../print.css", directory.as_uri() + "/print.html"):
        with pytest.raises(ValueError):
            pdf.StylesheetOnlyFetcher(directory).fetch(refused)
    # A document that links anything else is refused whole, from whichever thread asked for it.
    with pytest.raises(FatalURLFetchingError):
        pdf.render(NOTICE.format(extra=f'<img src="{url}">'))
    assert "受理通知书" in text(pdf.render(NOTICE.format(extra="")))
