"""The webhook sink keeps and describes Alertmanager's notifications (loopback HTTP only)."""

import json
import urllib.request

from cxpulse.alerts.sink import Notification, WebhookSink, notification_line

BODY = {
    "receiver": "pager", "status": "firing", "groupLabels": {"alertname": "incident", "service_type": "outage"},
    "alerts": [{"status": "firing", "labels": {"alertname": "incident", "severity": "critical"}}],
}


def test_sink_keeps_each_notification_with_its_receiver():
    sink = WebhookSink(keep=2).start()
    try:
        for receiver in ("team", "pager", "ops"):
            request = urllib.request.Request(f"{sink.url}/{receiver}", data=json.dumps({**BODY, "receiver": receiver})
                                             .encode(), method="POST")
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
        assert [n.receiver for n in sink.received()] == ["pager", "ops"]  # the last `keep`
        assert [n.path for n in sink.received("ops")] == ["/ops"]
    finally:
        sink.stop()


def test_notification_line():
    line = notification_line(Notification("/pager", BODY))

    assert line.startswith("pager")
    assert "{alertname=incident,service_type=outage}" in line
    assert "1 alert(s): incident critical firing" in line
