"""Where a run's affected households are kept: one Parquet file per run under CHECKS_DATA_DIR/simulation."""

from pathlib import Path

from django.conf import settings


def path_for(run) -> Path:
    return Path(settings.CHECKS_DATA_DIR) / "simulation" / f"run-{run.pk}.parquet"
