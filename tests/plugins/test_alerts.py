"""The alert webhook: an alert arrives in Slack's format; one that cannot be delivered says why and
names the connection to fix, instead of vanishing into a callback's log."""

from __future__ import annotations

import pytest

from confluent_migration.migration.notify import AlertNotDelivered, WebhookNotifier
from sandbox.alert_receiver import AlertReceiver


@pytest.fixture
def receiver(monkeypatch):
    receiver = AlertReceiver().start()
    for key, value in receiver.connection_env().items():
        monkeypatch.setenv(key, value)
    yield receiver
    receiver.stop()


def test_an_alert_arrives_at_the_webhook_of_the_connection(receiver):
    assert WebhookNotifier().post("lag over 5 minutes") == receiver.url
    assert receiver.received == [{"text": "lag over 5 minutes"}]


def test_a_missing_connection_is_named_with_what_to_add(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MIGRATION_ALERTS_WEBHOOK", raising=False)
    with pytest.raises(AlertNotDelivered, match=r"the connection 'migration_alerts_webhook' isn't defined .*"
                                                r"AIRFLOW_CONN_MIGRATION_ALERTS_WEBHOOK\) with the webhook URL as host"):
        WebhookNotifier().post("lost")


def test_a_webhook_answering_an_error_is_not_a_delivery(receiver, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MIGRATION_ALERTS_WEBHOOK",
                       '{"conn_type": "http", "host": "http://127.0.0.1:1/hooks/alerts"}')
    with pytest.raises(AlertNotDelivered, match=r"'migration_alerts_webhook' \(http://127.0.0.1:1/hooks/alerts\) "
                                                "could not be reached"):
        WebhookNotifier().post("lost")


def test_the_failure_callback_does_not_send_what_the_task_sent_itself(receiver):
    from confluent_migration.migration.health import HealthBreach

    WebhookNotifier(text="failed").notify({"exception": HealthBreach("2 breached")})
    WebhookNotifier(text="failed").notify({"exception": AlertNotDelivered("no route")})
    assert receiver.received == []
    WebhookNotifier(text="failed").notify({"exception": RuntimeError("API down")})
    assert receiver.received == [{"text": "failed"}]
