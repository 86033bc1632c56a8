"""The migration DAGs' Python steps (``call``/``call_if``): the package's functions run as tasks, in
a real DAG run, with what ``@task`` would give them."""

from __future__ import annotations

from typing import Any

import pytest

from confluent_migration.migration.dag_defaults import call, call_if


def plan() -> dict[str, Any]:
    return {"tables": ["a", "b"], "dry_run": False}


def with_all_context(the_plan: dict[str, Any], suffix: str, **context: Any) -> str:
    return f"{context['run_id']}:{','.join(the_plan['tables'])}{suffix}"


def with_named_context(the_plan: dict[str, Any], ti: Any) -> list[str]:
    return [ti.task_id, *the_plan["tables"]]


def without_context(the_plan: dict[str, Any]) -> int:
    return len(the_plan["tables"])


def test_a_step_gets_its_upstream_results_and_the_context_by_parameter_name(run_dag):
    def build():
        the_plan = call("plan", plan)
        call("all_context", with_all_context, the_plan, "{{ dag.dag_id }}")
        call("named_context", with_named_context, the_plan)
        call("no_context", without_context, the_plan)

    result = run_dag(build)
    assert result.dag_run.state == "success", result.why()
    assert result.xcom("all_context") == f"{result.dag_run.run_id}:a,b{result.dag_run.dag_id}"
    assert result.xcom("named_context") == ["named_context", "a", "b"]
    assert result.xcom("no_context") == 2


def test_a_step_that_raises_fails_its_task_and_says_why(run_dag):
    def broken(the_plan: dict[str, Any]) -> None:
        raise ValueError(f"no table {the_plan['tables'][0]!r} in the manifest")

    result = run_dag(lambda: call("broken", broken, call("plan", plan), retries=0))
    assert result.state("broken") == "failed"
    assert "ValueError: no table 'a' in the manifest" in result.errors


def test_a_step_needs_something_to_call(run_dag):
    with pytest.raises(TypeError, match="not_callable: python_callable must be callable"):
        run_dag(lambda: call("not_callable", "confluent_migration.migration.building.plan_of"))


@pytest.mark.parametrize(("condition", "states"), [
    (True, {"next": "success", "after_next": "success", "cleanup": "success"}),
    (False, {"next": "skipped", "after_next": "skipped", "cleanup": "success"}),
])
def test_a_false_condition_skips_the_tasks_right_after_it_and_the_rest_follow_their_trigger_rules(
        run_dag, condition, states):
    def build():
        gate = call_if("gate", lambda: condition)
        after = call("next", without_context, {"tables": ["x"]})
        after_next = call("after_next", without_context, {"tables": ["x", "y"]})
        cleanup = call("cleanup", without_context, {"tables": []}, trigger_rule="none_failed")
        gate >> after >> after_next >> cleanup

    result = run_dag(build)
    assert result.dag_run.state == "success", result.why()
    assert {task: result.state(task) for task in states} == states
    assert result.state("gate") == "success"
