"""A roll preparation killed midway leaves nothing (issue 17): a real process prepares the roll against the test
database, is killed with SIGKILL while its transaction has written the lines and the holds, and the database holds
no roll and no line; preparing again completes. SQLite and PostgreSQL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from minzheng.benefits import rolls
from minzheng.benefits.models import PaymentLine, PaymentRoll, RollRun
from minzheng.conftest import COUNTY

# `regions`: an earlier transactional test's flush may have removed the session's regions.
pytestmark = [pytest.mark.usefixtures("regions"), pytest.mark.django_db(transaction=True)]

CHILD = """
import sys, time, django
django.setup()
from minzheng.benefits import rolls
marker = sys.argv[2]
def progress(percent, message):
    if percent >= 65:  # lines written, the comparison about to run: inside the preparation's transaction
        open(marker, "w").close()
        time.sleep(120)
rolls.prepare(int(sys.argv[1]), progress)
"""


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_preparation_killed_midway_leaves_nothing(apply, approve_case, standards, bank, county_officers, tmp_path):
    approve_case(apply())
    maker, _ = county_officers
    run = rolls.start_preparation(maker, COUNTY, "2025-06", enqueue=False)
    marker = tmp_path / "inside-transaction"
    env = {**os.environ, "DATABASE_URL": _database_url(), "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(run.pk), str(marker)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the preparation ended before it could be killed"
            assert time.monotonic() < deadline, "the preparation did not reach its comparison step"
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    connection.close()  # a fresh connection sees only what was committed
    assert not PaymentRoll.objects.exists() and not PaymentLine.objects.exists()
    assert RollRun.objects.get(pk=run.pk).status == RollRun.Status.RUNNING  # until the stale sweep fails it
    rolls.prepare(run.pk)
    roll = PaymentRoll.objects.get(run=run)
    assert roll.lines_count == 3 and PaymentLine.objects.filter(roll=roll).count() == 3
