"""The demo's departmental data: every source generated and imported, deterministic for a seed, and a population
whose verdicts are mixed (some 低保, some 边缘, most not eligible)."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from minzheng.cases.models import Declaration
from minzheng.checks.models import Authorisation
from minzheng.conftest import CITY, VILLAGE
from minzheng.demo import checks as demo
from minzheng.demo import parameters
from minzheng.demo.population import generate_population
from minzheng.exchange.models import Snapshot
from minzheng.exchange.sources import SOURCES
from minzheng.policy.models import Parameter
from minzheng.policy.parameters import resolve

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 6, 1)
PREFIX = "130722"  # 张北县: a county of the demo prefecture, enough villages for a small population


@pytest.fixture
def population():
    return generate_population(PREFIX, 600, seed=7, as_of=datetime.date(2026, 1, 1))


def test_demo_parameters_are_local_illustrative_and_idempotent():
    created = parameters.load_demo_parameters(PREFIX)
    assert created == len(parameters.demo_parameter_values()[2])
    assert parameters.load_demo_parameters("1307") == 0  # same prefecture: nothing new
    rows = Parameter.objects.filter(region_id=CITY)
    assert rows.count() == created
    assert {p.basis for p in rows} == {"演示数据：示例值，非官方标准"}
    assert {p.effective_from for p in rows} == {datetime.date(2025, 1, 1)}
    # Inherited by every village of the prefecture; the national default stays unset.
    assert resolve("dibao.standard_rural", VILLAGE, AS_OF).value == "600"
    assert resolve("dibao.standard_urban", VILLAGE, AS_OF).value == "850"
    assert resolve("dibao.financial_assets_months", VILLAGE, AS_OF).value == 24
    assert resolve("dibao.business_registration_allowed", VILLAGE, AS_OF).value is False
    assert resolve("dibao.standard_rural", "130102001001", AS_OF).value == ""  # 石家庄: not configured


def test_every_source_is_generated_imported_and_deterministic(population, tmp_path):
    first = demo.generate_check_data(PREFIX, as_of=AS_OF, seed=3, out_dir=tmp_path / "a")
    assert first.households == 600
    assert [s.source for s in first.sources] == list(SOURCES)
    for outcome in first.sources:
        assert outcome.rows > 0, outcome.source
        assert outcome.rows_valid > 0 and not outcome.duplicate, outcome.source
    # Delivered for the months closed before the as-of date.
    assert first.period == datetime.date(2026, 5, 31)
    snapshots = Snapshot.objects.filter(region_id=CITY, period=first.period)
    assert sorted(snapshots.values_list("source", flat=True)) == sorted(SOURCES)
    # The rejects report and the unmatched count have content, as in a real delivery.
    assert sum(s.rows_rejected for s in first.sources) > 0
    assert sum(s.rows_unmatched for s in first.sources) > 0
    assert any(s.rejects_path for s in snapshots) and any(s.rejects_path for s in first.sources)

    # Authorisations (a sample of households: no case here) cover every living member and every category.
    assert first.authorisations == Authorisation.objects.count() > 0
    auth = Authorisation.objects.order_by("id").first()
    assert set(auth.categories) >= {"income_tax", "financial", "real_estate"}
    assert auth.signed_on <= AS_OF <= auth.valid_until
    assert auth.persons.count() == len(auth.household.current_memberships())
    assert first.declarations == Declaration.objects.count()

    shares = first.shares
    assert shares["households"] == 600
    assert shares["dibao"] > 0 and shares["edge"] > 0 and shares["ineligible"] > 0
    assert shares["dibao"] + shares["edge"] < shares["ineligible"]
    assert shares["authorised"] == first.authorisations

    # The same population and seed give byte-identical files; importing them again lands nothing new, and no
    # authorisation or declaration is recorded twice.
    again = demo.generate_check_data(PREFIX, as_of=AS_OF, seed=3, out_dir=tmp_path / "b")
    for a, b in zip(first.sources, again.sources, strict=True):
        assert demo.file_digest(a.path) == demo.file_digest(b.path), a.source
        assert b.duplicate
    assert (again.authorisations, again.declarations) == (0, 0)
    assert again.shares == first.shares
    assert Snapshot.objects.count() == len(SOURCES)

    # Another seed gives other data.
    other = tmp_path / "c"
    other.mkdir()
    demo.build_delivery_files(PREFIX, as_of=AS_OF, seed=4, out_dir=other)
    wage = next(s for s in first.sources if s.source == "wage")
    assert demo.file_digest(other / wage.path.name) != demo.file_digest(wage.path)


def test_command_in_xlsx_and_if_empty(population, tmp_path):
    out = StringIO()
    call_command("generate_check_data", prefix=PREFIX, as_of=AS_OF, seed=5, format="xlsx", out=tmp_path, stdout=out)
    text = out.getvalue()
    assert "符合低保条件" in text and "低保边缘" in text and "不符合救助条件" in text
    assert len(list(tmp_path.glob("*.xlsx"))) == len(SOURCES)
    assert Snapshot.objects.filter(file_format="xlsx").count() == len(SOURCES)

    out = StringIO()
    call_command("generate_check_data", prefix=PREFIX, as_of=AS_OF, seed=6, if_empty=True, out=tmp_path, stdout=out)
    assert "跳过" in out.getvalue()
    assert Snapshot.objects.count() == len(SOURCES)
