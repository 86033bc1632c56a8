"""A table is never dropped under a live reader: the drop is refused, naming the reader."""

from __future__ import annotations

import pytest

from confluent_migration.hooks.flink_statements import FlinkStatementsHook
from confluent_migration.migration.recreate import StillReadError, refuse_if_read
from confluent_migration.migration.rollback import wait_for_phase
from tests.plugins.conftest import ddl, unique


def test_a_table_with_a_live_reader_is_not_dropped_until_the_reader_stops(flink):
    table = unique("guarded", "_")
    ddl(f"CREATE TABLE `{table}` (`id` INT NOT NULL, `qty` INT, PRIMARY KEY (`id`) NOT ENFORCED)")
    refuse_if_read(FlinkStatementsHook(), table)  # nobody reads it yet

    hook, reader = FlinkStatementsHook(), unique("dashboard")
    hook.submit_statement(reader, f"SELECT id, qty FROM `{table}`")
    wait_for_phase(hook, reader, {"RUNNING"}, 60)
    with pytest.raises(StillReadError, match=rf"`{table}` is not dropped: live statements still read it: \['{reader}'\]"):
        refuse_if_read(hook, table)

    hook.set_stopped(reader, True)
    wait_for_phase(hook, reader, {"STOPPED"}, 60)
    refuse_if_read(hook, table)
