"""Statement names, offsets and phase verdicts, and the offline Avro compatibility check."""

from __future__ import annotations

import json

import pytest

from confluent_migration.compatibility import incompatibilities
from confluent_migration.statements import (
    FAILURE,
    NAME_PATTERN,
    SUCCESS,
    WAITING,
    check_statement_name,
    judge,
    parse_offsets,
    statement_name,
)


def test_a_statement_name_is_deterministic_valid_and_distinct_per_run_and_version():
    name = statement_name("sbx-uat.encarta.public.skus_master", 2, "manual__2026-01-01T00:00:00+00:00")
    assert name == statement_name("sbx-uat.encarta.public.skus_master", 2, "manual__2026-01-01T00:00:00+00:00")
    assert name.startswith("sbx-uat-encarta-public-skus-master-v2-")
    assert NAME_PATTERN.fullmatch(name)
    assert name != statement_name("sbx-uat.encarta.public.skus_master", 2, "another run")
    assert name != statement_name("sbx-uat.encarta.public.skus_master", 3, "manual__2026-01-01T00:00:00+00:00")


def test_long_table_names_are_shortened_to_100_characters_and_stay_distinct():
    a, b = statement_name("T" * 150 + "_a", "1.2", "r"), statement_name("T" * 150 + "_b", "1.2", "r")
    assert len(a) == len(b) == 100 and a != b
    assert NAME_PATTERN.fullmatch(a) and a.endswith(statement_name("x", "1.2", "r")[1:])


def test_an_invalid_explicit_name_is_refused_saying_why():
    with pytest.raises(ValueError, match="lowercase"):
        check_statement_name("Orders_V2")


def test_latest_offsets_parse_per_topic_and_partition():
    assert parse_offsets({"t1": "partition:0,offset:100;partition:1,offset:200", "t2": "partition:0,offset:5"}) == {
        "t1": {0: 100, 1: 200}, "t2": {0: 5}}
    assert parse_offsets(None) == {}


@pytest.mark.parametrize(("phase", "targets", "verdict"), [
    ("RUNNING", {"RUNNING"}, SUCCESS),
    ("DEGRADED", {"RUNNING"}, SUCCESS),
    ("PENDING", {"RUNNING"}, WAITING),
    ("SOMETHING_NEW", {"RUNNING"}, WAITING),
    ("FAILED", {"RUNNING"}, FAILURE),
    ("FAILING", {"COMPLETED"}, FAILURE),
    ("COMPLETED", {"RUNNING"}, FAILURE),
    ("STOPPED", {"STOPPED", "COMPLETED"}, SUCCESS),
    ("STOPPING", {"STOPPED"}, WAITING),
])
def test_phase_verdicts(phase, targets, verdict):
    assert judge(phase, targets) == verdict


def record(*fields: tuple[str, object, bool]) -> str:
    return json.dumps({"type": "record", "name": "r", "fields": [
        {"name": n, "type": ["null", t], "default": None} if optional else {"name": n, "type": t}
        for n, t, optional in fields]})


def test_offline_check_applies_levels_as_the_registry_does():
    v1 = record(("id", "long", False))
    v2 = record(("id", "long", False), ("sku", "string", True))
    required = record(("id", "long", False), ("uom", "string", False))
    assert incompatibilities(v2, [(1, v1)], "FULL") == []
    assert incompatibilities(required, [(1, v1)], "FORWARD") == []
    backward = incompatibilities(required, [(1, v1)], "BACKWARD")
    assert backward and backward[0].startswith("version 1: new schema cannot read old data")
    assert incompatibilities(required, [(1, v1)], "NONE") == []


def test_transitive_levels_check_every_version_and_the_others_only_the_latest():
    v1 = record(("id", "long", False), ("gone", "string", False))
    v2 = record(("id", "long", False))
    v3 = record(("id", "long", False), ("sku", "string", True))
    assert incompatibilities(v3, [(1, v1), (2, v2)], "FORWARD") == []
    assert [m.split(":")[0] for m in incompatibilities(v3, [(1, v1), (2, v2)], "FORWARD_TRANSITIVE")] == ["version 1"]


def test_polls_back_off_except_while_a_table_has_no_writer():
    """A wait polls after ``poll_interval``, then half again as long each time up to a minute; a wait
    that is a table's write gap keeps its short pace for ``steady_for`` seconds of pauses first."""
    from itertools import islice

    from confluent_migration.triggers.flink import MAX_POLL_SECONDS, poll_intervals

    assert list(islice(poll_intervals(5.0, 5.0), 4)) == [5.0, 7.5, 11.25, 16.875]
    assert list(islice(poll_intervals(50.0, 50.0), 20))[-1] == MAX_POLL_SECONDS
    gap = list(islice(poll_intervals(1.0, 10.0, steady_for=30.0), 33))
    assert gap[:30] == [1.0] * 30 and gap[30:] == [1.5, 2.25, 3.375]


def test_triggers_serialize_to_their_classpath_and_plain_arguments():
    from importlib import import_module

    from confluent_migration.triggers.flink import PendingRecordsTrigger, StatementPhaseTrigger, StatementsPhaseTrigger

    for trigger in (StatementPhaseTrigger("s-v1-abc", ["RUNNING"], 1.5e9, "c", 2.0),
                    PendingRecordsTrigger(["a", "b"], 10.0, 1.5e9, "m", 3.0),
                    StatementsPhaseTrigger([{"statement_name": "s-v1-abc", "target_phases": ["STOPPED"], "urgent": True}],
                                           1.5e9, "c", 2.0, carry={"waiting": [[3, "stopped", "s-v1-abc"]]})):
        path, kwargs = trigger.serialize()
        module, _, name = path.rpartition(".")
        clone = getattr(import_module(module), name)(**kwargs)
        assert clone.serialize() == (path, kwargs)
        assert json.loads(json.dumps(kwargs)) == kwargs
