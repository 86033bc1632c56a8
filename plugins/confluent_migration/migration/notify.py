"""An on-failure notifier posting to a webhook in Slack's incoming-webhook format (``{"text": ...}``).

The webhook is an Airflow connection (default ``migration_alerts_webhook``): its host is the full
webhook URL (Slack, Teams' Slack-compatible endpoints, or any service accepting that JSON). Use it
as ``on_failure_callback=WebhookNotifier()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests
from airflow.sdk import BaseHook, BaseNotifier

DEFAULT_CONN_ID = "migration_alerts_webhook"
DEFAULT_TEXT = (":rotating_light: *{{ dag.dag_id }}* failed in task `{{ ti.task_id }}` "
                "(run `{{ run_id }}`): {{ exception if exception is defined else 'see the task log' }}")


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
        conn = BaseHook.get_connection(self.webhook_conn_id)
        host = conn.host or ""
        if "://" not in host:
            host = f"https://{host}"
        if conn.port and f":{conn.port}" not in host:
            scheme, rest = host.split("://", 1)
            name, _, path = rest.partition("/")
            host = f"{scheme}://{name}:{conn.port}/{path}"
        return host

    def notify(self, context: Any) -> None:
        response = requests.post(self.url(), json={"text": self.text}, timeout=self.timeout)
        if response.status_code >= 400:
            raise RuntimeError(f"the alert webhook of connection '{self.webhook_conn_id}' answered HTTP "
                               f"{response.status_code}: {response.text[:200]}")
