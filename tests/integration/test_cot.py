"""``trilink cot`` end to end: fused alerts on a real broker, a real CoT router (taky) on
loopback, and a second client of the router that receives and parses the events.
Also the senders on their own: UDP, an absent TAK server, a server that does not read.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import suppress

import numpy as np
import pytest

from consumers.cot.events import alert_events
from consumers.cot.gateway import CotConfig, CotGateway, GatewayStats
from consumers.cot.send import XML_DECLARATION, Protocol, TcpSender, UdpSender
from consumers.positions import StartKind, StartPosition
from tests.conftest import KafkaEndpoint
from tests.factories import make_alert, make_ground_point
from tests.taky_router import CotClient, TakyRouter, free_port, taky_router
from trilink.clock import ClockDefinition
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.geodesy import ecef_to_geodetic
from trilink.kafka import ResilientProducer, producer_config, wait_for
from trilink.kafka.clock import write_clock
from trilink.model import AlertStatus, FusedAlert, MissileClass
from trilink.timeutil import parse_iso, wall_clock_us

pytestmark = pytest.mark.paced

S = 1_000_000


@pytest.fixture(scope="module")
def taky() -> Iterator[TakyRouter]:
    with taky_router() as router:
        yield router


@pytest.fixture
def receiver(taky: TakyRouter) -> Iterator[CotClient]:
    client = taky.client()
    yield client
    client.close()


def _current_alert(track_id: str, **overrides: object) -> FusedAlert:
    """An alert issued now (so its events are not stale), launched 95 s ago."""
    now = wall_clock_us()
    values: dict[str, object] = {
        "system_track_id": track_id,
        "alert_us": now,
        "state_time_us": now - S // 2,
        "first_detection_us": now - 65 * S,
        "newest_report_us": now,
        "launch": make_ground_point(time_us=now - 95 * S),
        "impact": make_ground_point(lat_deg=40.9, lon_deg=139.2, time_us=now + 600 * S),
    }
    values.update(overrides)
    return make_alert(**values)


def _publish(kafka_config: KafkaConfig, topic: str, alerts: list[FusedAlert]) -> None:
    codec = Codec()
    with ResilientProducer(producer_config(kafka_config)) as producer:
        for alert in alerts:
            producer.produce(topic, codec.encode(alert), key=alert.system_track_id.encode())
        assert producer.flush(10) == 0


class _Running:
    """A gateway in a thread, stopped and joined at the end of the test."""

    def __init__(self, gateway: CotGateway) -> None:
        self.gateway = gateway
        self.stop = threading.Event()
        self.result: GatewayStats | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.gateway.run(StartPosition(StartKind.BEGINNING), self.stop)
        except BaseException as exc:
            self.error = exc

    def finish(self) -> GatewayStats:
        self.stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def _gateway(kafka_config: KafkaConfig, topics: Topics, protocol: Protocol, port: int) -> _Running:
    config = CotConfig(tak_host="127.0.0.1", tak_port=port, protocol=protocol, topics=topics)
    return _Running(CotGateway(kafka_config, config))


def test_gateway_through_taky_to_a_second_client(
    kafka_config: KafkaConfig, topics: Topics, taky: TakyRouter, receiver: CotClient
) -> None:
    irbm = _current_alert("SYS-COT-A", version=1, status=AlertStatus.NEW)
    slbm = _current_alert("SYS-COT-B", missile_class=MissileClass.SLBM, launch=None)
    _publish(kafka_config, topics.alerts, [irbm, slbm])
    running = _gateway(kafka_config, topics, Protocol.TCP, taky.port)
    try:
        wanted = {
            ("trilink.SYS-COT-A.track", "a-h-A-W-M-S-S"),
            ("trilink.SYS-COT-A.launch", "b-d-l"),
            ("trilink.SYS-COT-A.impact", "b-d-i"),
            ("trilink.SYS-COT-B.track", "a-h-A-W-M-U"),
            ("trilink.SYS-COT-B.impact", "b-d-i"),
        }
        wait_for(
            lambda: wanted <= {(e.get("uid"), e.get("type")) for e in receiver.received()},
            timeout=30.0,
            message=f"events missing; taky log:\n{taky.log()}",
        )
        track = receiver.received(uid="trilink.SYS-COT-A.track")[-1]
        lat, lon, _ = ecef_to_geodetic(np.asarray(irbm.position_m))
        point = track.find("point")
        assert point is not None
        assert float(point.get("lat", "nan")) == pytest.approx(lat, abs=1e-5)
        assert float(point.get("lon", "nan")) == pytest.approx(lon, abs=1e-5)
        assert float(point.get("ce", "nan")) == pytest.approx(300.0, abs=0.1)
        assert track.get("how") == "m-f"
        impact = receiver.received(uid="trilink.SYS-COT-A.impact")[-1]
        ellipse = impact.find("detail/shape/ellipse")
        assert ellipse is not None and ellipse.get("major") == "4000.0"
        assert impact.find("point[@lat='40.900000']") is not None  # as taky re-wrote it
        remarks = impact.find("detail/remarks")
        assert remarks is not None and "IRBM launched" in (remarks.text or "")
        assert receiver.received(uid="trilink.SYS-COT-B.launch") == []  # no estimate yet

        # The missile falls: the track is deleted, the points stay.
        _publish(
            kafka_config,
            topics.alerts,
            [_current_alert("SYS-COT-A", version=2, status=AlertStatus.IMPACT)],
        )
        wait_for(
            lambda: receiver.received(uid="trilink.SYS-COT-A.track.delete.v2"),
            timeout=30.0,
            message="no delete",
        )
        delete = receiver.received(uid="trilink.SYS-COT-A.track.delete.v2")[0]
        assert delete.get("type") == "t-x-d-d"
        link = delete.find("detail/link")
        assert link is not None and link.get("uid") == "trilink.SYS-COT-A.track"
    finally:
        stats = running.finish()
    assert stats.alerts == 3
    assert running.gateway.sender is not None
    sent = running.gateway.sender.stats()
    assert sent.dropped == 0 and sent.sent >= 8


def test_gateway_over_udp(kafka_config: KafkaConfig, topics: Topics) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.1)
        _publish(kafka_config, topics.alerts, [_current_alert("SYS-COT-U")])
        running = _gateway(kafka_config, topics, Protocol.UDP, sink.getsockname()[1])
        got: list[ET.Element] = []

        def receive() -> bool:
            with suppress(TimeoutError):
                got.append(ET.fromstring(sink.recv(65536)))
            return len(got) >= 3

        try:
            wait_for(receive, timeout=30.0, message="datagrams missing")
        finally:
            running.finish()
    assert [e.get("uid") for e in got] == [
        "trilink.SYS-COT-U.track",
        "trilink.SYS-COT-U.launch",
        "trilink.SYS-COT-U.impact",
    ]


def test_an_accelerated_session_reaches_tak_on_the_wall_clock(
    kafka_config: KafkaConfig, topics: Topics
) -> None:
    now = wall_clock_us()
    write_clock(kafka_config, topics.clock, Codec(), ClockDefinition(epoch_us=now, rate=10.0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.1)
        _publish(kafka_config, topics.alerts, [_current_alert("SYS-COT-X")])
        running = _gateway(kafka_config, topics, Protocol.UDP, sink.getsockname()[1])
        got: list[ET.Element] = []

        def receive() -> bool:
            with suppress(TimeoutError):
                got.append(ET.fromstring(sink.recv(65536)))
            return bool(got)

        try:
            wait_for(receive, timeout=30.0, message="no datagram")
        finally:
            running.finish()
    track = got[0]
    assert track.get("uid") == "trilink.SYS-COT-X.track"
    # 30 s of scenario time at 10x is 3 s on the TAK client's clock.
    span = parse_iso(track.get("stale", "")) - parse_iso(track.get("time", ""))
    assert span == pytest.approx(3 * S, abs=1000)
    assert "10x real time since" in (track.findtext("detail/remarks") or "")


def test_the_cli_sends_to_taky(
    kafka: KafkaEndpoint,
    kafka_config: KafkaConfig,
    topics: Topics,
    taky: TakyRouter,
    receiver: CotClient,
) -> None:
    _publish(kafka_config, topics.alerts, [_current_alert("SYS-COT-C")])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "cot",
            "--bootstrap-servers",
            kafka.bootstrap_servers,
            "--tak-host",
            taky.host,
            "--tak-port",
            str(taky.port),
            "--topic",
            topics.alerts,
            "--clock-topic",
            topics.clock,
            "--from-beginning",
            "--max",
            "1",
            "--timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 alerts -> 3 events" in done.stderr
    wait_for(
        lambda: (
            len({e.get("uid") for e in receiver.received() if "SYS-COT-C" in e.get("uid", "")}) == 3
        ),
        timeout=30.0,
        message="the CLI's events did not arrive",
    )


# -- the TCP sender on its own ---------------------------------------------------------------


def test_an_absent_server_never_blocks_and_gets_the_picture_when_it_comes() -> None:
    port = free_port()
    sender = TcpSender("127.0.0.1", port, backoff_max_s=0.5, connect_timeout_s=1.0)
    try:
        started = time.monotonic()
        for version in range(1, 51):
            for event in alert_events(_current_alert("SYS-COT-H", version=version)):
                sender.send(event)
        assert time.monotonic() - started < 2.0
        assert sender.stats().held == 150 and not sender.stats().connected
        with socket.create_server(("127.0.0.1", port)) as server:
            server.settimeout(30.0)
            conn, _ = server.accept()
            with conn:
                conn.settimeout(0.1)
                client = _StreamReader(conn)
                wait_for(lambda: len(client.read()) >= 3, timeout=30.0, message="no snapshot")
        stats = sender.stats()
        assert stats.connects >= 1 and stats.resent == 3
        # The newest state of each of the three items, not the backlog.
        versions = {e.get("uid"): _version(e) for e in client.events}
        assert versions == {
            "trilink.SYS-COT-H.track": "50",
            "trilink.SYS-COT-H.launch": "50",
            "trilink.SYS-COT-H.impact": "50",
        }
    finally:
        sender.close(1.0)


def test_a_server_that_does_not_read_costs_drops_not_a_stall() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        server.settimeout(10.0)
        sender = TcpSender("127.0.0.1", port, queue_size=20, send_timeout_s=0.5)
        conn, _ = server.accept()  # accepted, never read
        try:
            wait_for(lambda: sender.stats().connected, timeout=10.0)
            big = alert_events(_current_alert("SYS-COT-S", note="x" * 20_000))
            started = time.monotonic()
            for _ in range(2000):
                for event in big:
                    sender.send(event)
            assert time.monotonic() - started < 5.0
            wait_for(lambda: sender.stats().dropped > 0, timeout=20.0, message="nothing dropped")
        finally:
            started = time.monotonic()
            sender.close(1.0)
            assert time.monotonic() - started < 5.0
            conn.close()


def test_udp_to_nobody_counts_no_failure() -> None:
    port = free_port()
    sender = UdpSender("127.0.0.1", port)
    for event in alert_events(_current_alert("SYS-COT-N")):
        sender.send(event)
    sender.close()
    assert sender.stats().sent + sender.stats().dropped == 3


def _version(event: ET.Element) -> str:
    found = event.find("detail/__trilink")
    assert found is not None
    return found.attrib["version"]


class _StreamReader:
    """Our sender's raw stream (a declaration per event), parsed as it grows."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""
        self.events: list[ET.Element] = []

    def read(self) -> list[ET.Element]:
        try:
            self.buffer += self.conn.recv(65536)
        except TimeoutError:
            return self.events
        end = self.buffer.rfind(b"</event>")
        if end >= 0:
            complete = self.buffer[: end + len(b"</event>")].replace(XML_DECLARATION, b"")
            self.events = list(ET.fromstring(b"<stream>" + complete + b"</stream>"))
        return self.events
