"""An on-failure notifier posting to a webhook in Slack's incoming-webhook format (``{"text": ...}``).

The webhook is an Airflow connection (default ``migration_alerts_webhook``): its host is the full
webhook URL (Slack, Teams' Slack-compatible endpoints, or any service accepting that JSON). Use it
as ``on_failure_callback=WebhookNotifier()``. A failure callback's own error only reaches a log, so
a task that must alert calls :meth:`WebhookNotifier.post` itself (an undeliverable alert then fails
the task, naming the connection) and raises an error marked ``alerted``, which the callback skips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseHook, BaseNotifier
from airflow.sdk.exceptions import AirflowFailException

DEFAULT_CONN_ID = "migration_alerts_webhook"
DEFAULT_TEXT = (":rotating_light: *{{ dag.dag_id }}* failed in task `{{ ti.task_id }}` "
                "(run `{{ run_id }}`): {{ exception if exception is defined else 'see the task log' }}")


class AlertNotDelivered(AirflowFailException):
    """The alert could not be delivered; the message names the connection and what to fix."""


class WebhookNotifier(BaseNotifier):
    """Post ``text`` (templated with the task's context) to the webhook connection.

    :param text: the message (Jinja; ``exception`` is the failure when there is one).
    :param webhook_conn_id: the connection whose host is the webhook URL.
    :param timeout: seconds for the POST.
    """

    template_fields: Sequence[str] = ("text",)

    def __init__(self, *, text: str = DEFAULT_TEXT, webhook_conn_id: str = DEFAULT_CONN_ID,
                 timeout: float = 10.0) -> None:
        super().__init__()
        self.text = text
        self.webhook_conn_id = webhook_conn_id
        self.timeout = timeout

    def url(self) -> str:
        """The webhook URL from the connection; :class:`AlertNotDelivered` when it is missing or empty."""
        try:
            conn = BaseHook.get_connection(self.webhook_conn_id)
        except Exception as exc:  # noqa: BLE001 - AirflowNotFoundException and the API's own errors
            raise AlertNotDelivered(f"alerts cannot be delivered: the connection '{self.webhook_conn_id}' isn't "
                                    f"defined ({exc}); add it (Admin > Connections, or AIRFLOW_CONN_"
                                    f"{self.webhook_conn_id.upper()}) with the webhook URL as host") from None
        host = conn.host or ""
        if not host:
            raise AlertNotDelivered(f"alerts cannot be delivered: the connection '{self.webhook_conn_id}' has no "
                                    "host; set it to the webhook URL")
        if "://" not in host:
            host = f"https://{host}"
        if conn.port and f":{conn.port}" not in host:
            scheme, rest = host.split("://", 1)
            name, _, path = rest.partition("/")
            host = f"{scheme}://{name}:{conn.port}/{path}"
        return host

    def post(self, text: str) -> str:
        """Send ``text``; returns the URL; :class:`AlertNotDelivered` when it did not arrive."""
        import requests

        url = self.url()
        try:
            response = requests.post(url, json={"text": text}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise AlertNotDelivered(f"the alert webhook of connection '{self.webhook_conn_id}' ({url}) could not "
                                    f"be reached: {exc}") from None
        if response.status_code >= 400:
            raise AlertNotDelivered(f"the alert webhook of connection '{self.webhook_conn_id}' answered HTTP "
                                    f"{response.status_code}: {response.text[:200]}")
        return url

    def notify(self, context: Any) -> None:
        exception = context.get("exception")
        if getattr(exception, "alerted", False) or isinstance(exception, AlertNotDelivered):
            return  # the task sent this alert itself, or already failed because it could not
        self.post(self.text)
