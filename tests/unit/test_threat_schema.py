"""FusedAlert.threat (schema version 4): old readers read new alerts, new readers old ones."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import T0_US, make_alert
from trilink.codec import Codec, Framing
from trilink.model import FusedAlert
from trilink.registry import StaticSchemaIds
from trilink.schemas import default_catalog
from trilink.threat import ImpactZone, Overflight, ThreatAssessment, WarnedArea

CATALOG = default_catalog()
V3 = CATALOG.version(FusedAlert.SCHEMA, 3)


def sample_threat() -> ThreatAssessment:
    return ThreatAssessment(
        zone=ImpactZone.HIGH_SEAS,
        zone_nation="",
        ellipse_land=(),
        ellipse_waters=("JPN",),
        overflights=(Overflight("JPN", T0_US + 490_000_000, T0_US + 570_000_000, ("JP-01",)),),
        warning=(
            WarnedArea("JP-01", "Hokkaidō", "JPN", True, False, T0_US + 490_000_000),
            WarnedArea("JP-02", "Aomori", "JPN", False, False, T0_US + 495_000_000),
        ),
        reference="Cape Erimo",
        reference_nation="JPN",
        reference_km=1183.2,
        reference_bearing_deg=91.5,
        description="passed over Hokkaidō; about 1,180 km E of Cape Erimo, outside Japan's EEZ",
        impact_us=T0_US + 925_000_000,
    )


def test_threat_is_the_newest_field_and_v3_is_kept() -> None:
    current = CATALOG.current(FusedAlert.SCHEMA)
    assert current.version == 4
    assert [f["name"] for f in current.schema["fields"]][-1] == "threat"
    assert "threat" not in {f["name"] for f in V3.schema["fields"]}


def _docs(node: Any) -> list[tuple[str, str]]:
    """(field name, doc) of every record field below ``node``."""
    found = []
    if isinstance(node, dict):
        for f in node.get("fields", []):
            found.append((f["name"], f.get("doc", "")))
        for value in node.values():
            found += _docs(value)
    elif isinstance(node, list):
        for value in node:
            found += _docs(value)
    return found


def test_every_threat_field_is_documented() -> None:
    threat = next(
        f for f in CATALOG.current(FusedAlert.SCHEMA).schema["fields"] if f["name"] == "threat"
    )
    docs = _docs(threat["type"])
    assert len(docs) > 15
    assert all(doc for _, doc in docs), [name for name, doc in docs if not doc]


@pytest.mark.parametrize("framing", list(Framing))
def test_round_trip_with_threat(framing: Framing) -> None:
    ids = StaticSchemaIds()
    alert = make_alert(threat=sample_threat())
    data = Codec(framing=framing, ids=ids).encode(alert)
    assert Codec(ids=ids).decode(data, FusedAlert) == alert


def test_old_reader_reads_new_alert() -> None:
    codec = Codec()
    data = codec.encode(make_alert(threat=sample_threat()))
    _, datum = codec.decode_dict(data, reader=V3)
    assert "threat" not in datum  # v3 readers skip the field they do not know
    assert FusedAlert.from_dict(datum) == make_alert()


def test_new_reader_reads_old_alert() -> None:
    codec = Codec()
    old = {f["name"]: make_alert().to_dict()[f["name"]] for f in V3.schema["fields"]}
    data = codec.encode_dict(V3, old)
    decoded = codec.decode(data, FusedAlert)
    assert decoded.threat is None
    assert decoded == make_alert()
