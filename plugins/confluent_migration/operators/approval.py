"""A person's approval that a retry never turns into a second decision, and that survives Airflow's
stale-exit race.

On Airflow 3.3 a Human-in-the-loop task parks while it waits, and its worker process exits. When
the answer comes before the executor has reported that exit, the scheduler takes the stale report
for a mismatch and fails the resumed task (apache/airflow#72716, #71580). With retries the task
asks again instead of failing the run; a *Reject* still fails it at once, without a retry.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.exceptions import HITLRejectException
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException


class RejectableApprovalOperator(ApprovalOperator):
    """``ApprovalOperator`` with ``fail_on_reject``: *Reject* fails the task without retries, naming
    what to do next; any other failure (Airflow's race) retries as the DAG's tasks do."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fail_on_reject=True, **kwargs)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        try:
            return super().execute_complete(context, event)
        except HITLRejectException as rejected:
            raise AirflowFailException(f"{self.task_id}: a person rejected '{self.subject}'. Nothing after this "
                                       "step ran; roll the run back with rollback_migration") from rejected
