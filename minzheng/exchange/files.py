"""Where the exchange keeps its files: snapshots, rejects reports, uploads waiting for the worker and scratch space
under settings.CHECKS_DATA_DIR, and where a Spark cluster reads the same snapshots (settings.SNAPSHOT_URI)."""

import pathlib
import re

from django.conf import settings
from django.urls import reverse

from minzheng.core.errors import NotFound

_REJECTS_NAME = re.compile(r"^rejects/[a-z_]+-[0-9a-f]{12}\.csv$")


def data_dir() -> pathlib.Path:
    return pathlib.Path(settings.CHECKS_DATA_DIR)


def scratch_dir() -> pathlib.Path:
    """Each import's scratch folder lives here (`workspace.Workspace`); whatever a killed import left is swept."""
    return data_dir() / "tmp"


def incoming_dir() -> pathlib.Path:
    """Web uploads, streamed here and kept until the worker has imported them (`jobs`)."""
    return data_dir() / "incoming"


def snapshot_path(snapshot) -> pathlib.Path:
    return data_dir() / snapshot.path


def cluster_uri(path: pathlib.Path | str) -> str:
    """Where a Spark cluster reads a file of the data directory: the same relative path under settings.SNAPSHOT_URI
    (`hdfs://…`, `s3a://…`, or a folder mounted at the same place on every worker), or the local path itself when
    SNAPSHOT_URI is not set (local mode, or the data directory mounted at the same path on the workers). The importer
    writes the files locally; the deployment makes them reachable there (README, "A province on Spark")."""
    base = (settings.SNAPSHOT_URI or "").strip()
    path = pathlib.Path(path)
    try:
        relative = path.resolve().relative_to(data_dir().resolve())
    except ValueError:  # not a file of the data directory (a benchmark's or a test's own): read where it is
        return str(path)
    if not base:
        return str(path)
    return base.rstrip("/") + "/" + relative.as_posix()


def rejects_file(relative: str) -> pathlib.Path:
    """The absolute path of a rejects report; anything but a name this module writes is refused (no traversal)."""
    if not isinstance(relative, str) or not _REJECTS_NAME.match(relative):
        raise NotFound("拒收报告不存在", "not_found")
    return data_dir() / relative


def rejects_url(relative: str) -> str:
    return reverse("exchange:rejects", args=[relative.removeprefix("rejects/")]) if relative else ""
