"""The production storage of static files: whitenoise's hashed, pre-compressed copies (settings.STORAGES)."""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns: tuple) -> tuple:
    kept = []
    for glob, rules in patterns:
        rules = tuple(r for r in rules if "sourceMappingURL" not in (r[0] if isinstance(r, tuple) else r))
        if rules:
            kept.append((glob, rules))
    return tuple(kept)


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed names for every file and for the `url(...)` references inside the stylesheets, but the vendored minified
    bundles' `sourceMappingURL` comments are left alone: the source maps are not shipped (a browser's developer tools
    simply find none), and Django's storage would otherwise refuse to collect a file that names a missing one."""

    patterns = _without_source_maps(HashedFilesMixin.patterns)
