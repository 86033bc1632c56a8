"""A migration step as a task: one of the package's functions, called with the run's context.

Airflow parses a DAG file again for every task it runs. The standard provider's ``PythonOperator``
module (its virtualenv operators, ``packaging`` compiling its requirement parser) took a quarter of a
migration DAG's parse in a task run, whose process has not imported it before; these operators are
all the DAGs use of it, on the SDK's ``BaseOperator`` and ``SkipMixin``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.bases.skipmixin import SkipMixin


class StepOperator(BaseOperator):
    """Returns ``python_callable(*op_args)``: XComArgs and templates in ``op_args`` rendered, the
    context's values passed by parameter name (all of them to ``**context``), as ``@task`` passes them."""

    template_fields: Sequence[str] = ("op_args",)
    ui_color = "#ffefeb"

    def __init__(self, *, python_callable: Callable[..., Any], op_args: Sequence[Any] = (),
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise TypeError(f"{self.task_id}: python_callable must be callable, got {python_callable!r}")
        self.python_callable = python_callable
        self.op_args = list(op_args)

    def execute(self, context: Context) -> Any:
        from airflow.sdk.bases.decorator import determine_kwargs

        kwargs = determine_kwargs(self.python_callable, self.op_args, context)
        result = self.python_callable(*self.op_args, **kwargs)
        self.log.info("Done. Returned value was: %s", result)
        return result


class StepIfOperator(StepOperator, SkipMixin):
    """A :class:`StepOperator` whose false result skips the tasks right after it; those further
    downstream follow their own trigger rules (``ShortCircuitOperator`` with
    ``ignore_downstream_trigger_rules=False``)."""

    inherits_from_skipmixin = True

    def execute(self, context: Context) -> Any:
        result = super().execute(context)
        if not result:
            skipped = [task for task in self.get_direct_relatives(upstream=False) if not task.is_teardown]
            self.log.info("Condition false: skipping %s", sorted(task.task_id for task in skipped))
            self.skip(ti=context["ti"], tasks=skipped)
        return result
