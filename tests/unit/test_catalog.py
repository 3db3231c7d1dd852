"""Catalogues: sites, missiles, historical launches and their attribution."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sim import catalog
from sim.catalog import (
    ATTRIBUTION,
    class_template,
    get_missile,
    get_site,
    historical,
    missiles,
    sites,
)
from sim.errors import CatalogError, SimError
from trilink.errors import TrilinkError
from trilink.model import MissileClass

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "nk-missile-tests"


def test_error_family() -> None:
    assert issubclass(CatalogError, SimError)
    assert issubclass(SimError, TrilinkError)


@pytest.mark.parametrize(
    "name",
    [
        "sunan",
        "sohae",
        "sinpo",
        "hodo",
        "wonsan",
        "kusong",
        "jangyon",
        "mupyong-ni",
        "pyongsong",
        "hungnam",
        "kaechon",
        "pyongyang",
        "samsok",
    ],
)
def test_required_sites_are_in_north_korea(name: str) -> None:
    site = get_site(name)
    assert 37.5 < site.lat_deg < 43.0
    assert 124.0 < site.lon_deg < 131.0


def test_site_lookup_by_name_alias_and_case() -> None:
    assert get_site("Sohae Satellite Launching Station").key == "sohae"
    assert get_site("Tongchang-ri").key == "sohae"
    assert get_site("  SUNAN ").key == "sunan"
    assert get_site("Mupyong ni").key == "mupyong-ni"


def test_unknown_site_lists_choices() -> None:
    with pytest.raises(CatalogError, match=r"valid sites:.*sohae"):
        get_site("atlantis")
    assert "unknown" not in sites()


@pytest.mark.parametrize(
    ("key", "cls"),
    [
        ("hwasong-11a", MissileClass.SRBM),
        ("KN-23", MissileClass.SRBM),
        ("kn-24", MissileClass.SRBM),
        ("kn-25", MissileClass.SRBM),
        ("hwasong-12", MissileClass.IRBM),
        ("hwasong-15", MissileClass.ICBM),
        ("hwasong-17", MissileClass.ICBM),
        ("hwasong-18", MissileClass.ICBM),
        ("hwasong-19", MissileClass.ICBM),
        ("pukguksong-3", MissileClass.SLBM),
        ("hwasong-11s", MissileClass.SLBM),
        ("chollima-1", MissileClass.SLV),
    ],
)
def test_required_missiles_and_classes(key: str, cls: MissileClass) -> None:
    missile = get_missile(key)
    assert missile.missile_class is cls
    assert missile.stages
    assert all(
        s.burn_s > 0 and s.dv_mps > 0 and 0 < s.propellant_fraction < 1 for s in missile.stages
    )


def test_burn_times_are_realistic_per_class() -> None:
    assert 40 <= get_missile("kn-23").burn_s <= 50
    assert 130 <= get_missile("hwasong-12").burn_s <= 150
    assert 250 <= get_missile("hwasong-15").burn_s <= 300
    assert len(get_missile("hwasong-15").stages) == 2
    assert 240 <= get_missile("hwasong-17").burn_s <= 320
    assert 220 <= get_missile("hwasong-18").burn_s <= 320
    assert len(get_missile("hwasong-18").stages) == 3


def test_stage_exhaust_velocity_gives_its_delta_v() -> None:
    for missile in missiles().values():
        for stage in missile.stages:
            dv = -stage.exhaust_mps * math.log(1 - stage.propellant_fraction)
            assert dv == pytest.approx(stage.dv_mps, rel=1e-12)
        if missile.stages:  # every missile lifts off at full thrust
            assert missile.stages[0].initial_accel_mps2 > 9.81


def test_class_names_resolve_to_templates() -> None:
    assert get_missile("icbm").missile_class is MissileClass.ICBM
    assert get_missile("SRBM") == class_template(MissileClass.SRBM)
    assert get_missile("unknown").missile_class is MissileClass.UNKNOWN
    assert not get_missile("unknown").stages


def test_unknown_missile_lists_choices() -> None:
    with pytest.raises(CatalogError, match=r"valid missiles:.*hwasong-15"):
        get_missile("taepodong-9")


def test_historical_by_utc_and_local_date() -> None:
    (hs15,) = historical("2017-11-29")  # Korean date; the record is 2017-11-28 18:18 UTC
    assert historical("2017-11-28") == [hs15]
    assert hs15.missile == "hwasong-15"
    assert (hs15.range_km, hs15.apogee_km, hs15.bearing_deg) == (950.0, 4475.0, 76.0)
    assert hs15.flight_time_s == 3180.0
    assert "Japan MOD" in hs15.flight_time_source
    assert hs15.site.key == "pyongsong"
    assert hs15.launch_time is not None and hs15.launch_time.hour == 18


def test_historical_salvo_in_series_order() -> None:
    salvo = historical("2022-06-05")
    assert [h.series for h in salvo] == list(range(1, 9))
    assert salvo[3].time_utc is None  # "unknown" in the source


def test_historical_unknown_date() -> None:
    with pytest.raises(CatalogError, match=r"known UTC dates:.*2017-11-28"):
        historical("1999-01-01")


def test_every_historical_record_is_attributed_and_resolvable() -> None:
    every = historical()
    assert len(every) >= 40
    for h in every:
        assert ATTRIBUTION in h.source
        assert h.range_km > 0 and h.apogee_km > 0
        get_site(h.facility)
        get_missile(h.missile)
    with_times = [h for h in every if h.flight_time_s is not None]
    assert len(with_times) >= 10
    assert all(h.flight_time_source for h in with_times)


def test_data_is_loaded_once() -> None:
    assert catalog._historical() is catalog._historical()
    assert catalog._sites() is catalog._sites()


def test_notice_names_the_source() -> None:
    notice = (Path(catalog.__file__).with_name("data") / "NOTICE").read_text(encoding="utf-8")
    assert "nagix/nk-missile-tests" in notice and "Apache License" in notice


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference not present")
def test_copies_match_the_reference_dataset() -> None:
    facilities = json.loads((REFERENCE / "facility.en.json").read_text())["facilities"]
    for key, site in sites().items():
        assert (site.lat_deg, site.lon_deg) == (facilities[key]["lat"], facilities[key]["lon"])
    source_missiles = json.loads((REFERENCE / "missile.en.json").read_text())
    assert set(source_missiles) == set(missiles())
    bins = json.loads((REFERENCE / "test.en.json").read_text())["timeBins"]
    records = [r for b in bins for r in b["data"]]
    ours = json.loads((Path(catalog.__file__).with_name("data") / "historical.json").read_text())
    added = {"flight_time_s", "flight_time_source", "_source"}
    for mine in ours["launches"]:
        assert {k: v for k, v in mine.items() if k not in added} in records
