from minzheng.monitoring.models import Alert

from .conftest import D, ids


def test_death_of_dibao_member_raises_one_stop_warning(make_household, monitor, make_snapshot, sweep):
    h = make_household()
    monitor(h, "dibao")
    make_snapshot(
        "civil_status",
        [{"id_number": ids(h)[1], "event": "death", "event_on": D(2026, 10, 20)}],
        period=D(2026, 10, 31),
    )
    s = sweep()
    assert s.status == "complete", s.error
    alerts = list(Alert.objects.all())
    assert len(alerts) == 1
    a = alerts[0]
    assert a.rule == "death_member" and a.suggested_outcome == "stop"
    assert a.action_due_on == D(2027, 1, 20)
    print(a.summary, a.due_on, s.stats)
    again = sweep()
    assert again.stats["warnings"] == 0
