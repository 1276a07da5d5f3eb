"""`in_batches`: distinct ids, sorted, in lists no longer than the limit."""

from minzheng.core.batching import IN_BATCH, in_batches


def test_ids_come_back_distinct_sorted_and_in_bounded_lists():
    ids = [5, 3, 3, 9, 1, 7, 5]
    assert list(in_batches(ids, 2)) == [[1, 3], [5, 7], [9]]
    assert list(in_batches(iter(ids))) == [[1, 3, 5, 7, 9]]
    assert list(in_batches([])) == []


def test_a_city_sized_list_stays_under_the_bound_value_limits():
    batches = list(in_batches(range(100_000)))
    assert max(len(b) for b in batches) == IN_BATCH < 32_766
    assert sum(len(b) for b in batches) == 100_000
