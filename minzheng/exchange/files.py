"""Where the exchange keeps its files: snapshots, rejects reports and scratch space under settings.CHECKS_DATA_DIR."""

import pathlib
import re

from django.conf import settings

from minzheng.core.errors import NotFound

_REJECTS_NAME = re.compile(r"^rejects/[a-z_]+-[0-9a-f]{12}\.csv$")


def data_dir() -> pathlib.Path:
    return pathlib.Path(settings.CHECKS_DATA_DIR)


def snapshot_path(snapshot) -> pathlib.Path:
    return data_dir() / snapshot.path


def rejects_file(relative: str) -> pathlib.Path:
    """The absolute path of a rejects report; anything but a name this module writes is refused (no traversal)."""
    if not isinstance(relative, str) or not _REJECTS_NAME.match(relative):
        raise NotFound("拒收报告不存在", "not_found")
    return data_dir() / relative
