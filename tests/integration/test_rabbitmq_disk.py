"""A disk filling under RabbitMQ (issue 30's full disk, for the broker): its data on a
filesystem of its own just above the disk alarm's free-space limit, then filled. What the
rendered configuration promises, on Debian's RabbitMQ started from it: the near-alarm alert's
condition holds before the alarm; filled below the limit, the broker blocks publishers
while consumers go on draining; freed, publishing resumes and nothing confirmed before was
lost. Watched as Prometheus sees it: the broker's own metrics
on its scrape endpoint, with the scraper's identity (the alert rules' arithmetic is
promtool-tested in monitoring/prometheus/tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest
from prometheus_client.parser import text_string_to_metric_families

from components.rabbitmq.files import DISK_FREE_LIMIT_MIB
from tests.integration.rabbitmq_clients import Broker, confirmed, drain

HEADROOM_MIB = 256
"""Free space above the alarm's limit at the start (a tmpfs: only what is written uses memory)."""
FILL_MIB = 384
"""What the drill writes: more than the headroom, so free space falls below the limit."""


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    result = Broker(tmp_path_factory.mktemp("rmq-disk"), DISK_FREE_LIMIT_MIB + HEADROOM_MIB)
    try:
        yield result
    finally:
        result.server.destroy()


def _gauges(broker: Broker) -> dict[str, float]:
    """The broker's unlabelled gauges as it serves them to Prometheus."""
    scraped = broker.https(broker.server.prometheus, "/metrics", client_cert=broker.scraper())
    assert scraped.status == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(scraped.data.decode())
        for sample in family.samples
        if not sample.labels
    }


def _alarm(broker: Broker) -> float:
    return _gauges(broker)["rabbitmq_alarms_free_disk_space_watermark"]


def _until(check: object, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(1)
    return False


def _publish(broker: Broker, body: bytes) -> None:
    """As the gateway, persistent, confirmed (the broker's refusal or silence raises)."""
    with broker.connect("api-gateway", broker.password("api-gateway")) as gateway:
        confirmed(gateway).basic_publish(
            "vos.messages", "agent.weather.task", body, pika.BasicProperties(delivery_mode=2)
        )


def test_a_filling_disk_is_seen_before_the_alarm_which_then_blocks_publishers_only(
    small_disk: Broker,
) -> None:
    broker = small_disk
    seen = _gauges(broker)
    # The near-alarm alert's condition (RabbitMQDiskNearAlarm: less than twice the limit
    # free) holds while the alarm does not yet: it warns before publishers are blocked.
    ratio = (
        seen["rabbitmq_disk_space_available_bytes"]
        / seen["rabbitmq_disk_space_available_limit_bytes"]
    )
    assert seen["rabbitmq_disk_space_available_limit_bytes"] == DISK_FREE_LIMIT_MIB * 2**20
    assert 1 < ratio < 2 and _alarm(broker) == 0, seen
    for n in range(3):
        _publish(broker, f"before {n}".encode())

    filler = Path(broker.server.home) / "filler"
    with filler.open("wb") as out:
        for _ in range(FILL_MIB):
            out.write(b"\0" * 2**20)
    try:
        assert _until(lambda: _alarm(broker) == 1), _gauges(broker)
        # A publisher is blocked: the broker stops reading its connection, so no confirm
        # comes and the client gives up after its blocked-connection timeout.
        with pytest.raises(pika.exceptions.ConnectionBlockedTimeout):
            _publish(broker, b"during")
        # A consumer is not: the agent drains its queue.
        with broker.connect("weather-agent", broker.password("weather-agent")) as agent:
            method, _, body = agent.channel().basic_get("vos.agent.weather", auto_ack=True)
            assert method is not None and body == b"before 0"
    finally:
        filler.unlink()
    assert _until(lambda: _alarm(broker) == 0), _gauges(broker)
    _publish(broker, b"after")
    with broker.connect("weather-agent", broker.password("weather-agent")) as agent:
        bodies = drain(agent, "vos.agent.weather")
    # What was confirmed is there, in order. The publish that timed out may be there too:
    # the broker read its frame before it stopped reading the connection and routed it when
    # the alarm cleared (seen here), so a publisher that retries may send a duplicate.
    assert bodies[:2] == [b"before 1", b"before 2"] and bodies[-1] == b"after", bodies
    assert set(bodies[2:-1]) <= {b"during"}, bodies
