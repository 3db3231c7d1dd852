"""Hand-built sample records for tests: plausible values, every field set, overridable.

``make_warning(sequence=2, nation=Nation.JPN)`` etc. Values are fixed (no randomness)
so tests are deterministic; ids are fixed strings unless overridden.
"""

from __future__ import annotations

from typing import Any

from trilink.model import (
    AlertStatus,
    Contributor,
    DataMode,
    DeadLetter,
    Ellipse,
    FusedAlert,
    GroundPoint,
    LaunchEvent,
    MissileClass,
    MissileWarning,
    Nation,
    TrackStatus,
)

# 2026-05-01T00:00:00Z, a fixed scenario epoch.
T0_US = 1_777_593_600_000_000

# A point over the Sea of Japan at ~300 km altitude and a plausible velocity (ECEF).
POSITION_M = (-3_305_000.0, 3_520_000.0, 4_450_000.0)
VELOCITY_MPS = (1_250.0, -1_800.0, 950.0)


def covariance_upper(pos_sigma_m: float = 500.0, vel_sigma_mps: float = 20.0) -> tuple[float, ...]:
    """Upper triangle (21 values, row-major) of a diagonal 6x6 ECEF covariance."""
    sigmas = [pos_sigma_m] * 3 + [vel_sigma_mps] * 3
    return tuple((sigmas[i] ** 2 if i == j else 0.0) for i in range(6) for j in range(i, 6))


def make_ground_point(**overrides: Any) -> GroundPoint:
    values: dict[str, Any] = {
        "lat_deg": 39.66,
        "lon_deg": 124.70,
        "time_us": T0_US,
        "ellipse": Ellipse(semi_major_km=4.0, semi_minor_km=2.5, orientation_deg=80.0),
    }
    values.update(overrides)
    return GroundPoint(**values)


def make_warning(**overrides: Any) -> MissileWarning:
    """A KOR update on a boosting-then-coasting IRBM with launch and impact estimates."""
    values: dict[str, Any] = {
        "message_id": "00000000-0000-4000-8000-000000000001",
        "nation": Nation.KOR,
        "sensors": ("GREEN-PINE-1", "SPY-1D-SEJONG"),
        "track_id": "KOR-0001",
        "sequence": 3,
        "observed_us": T0_US + 95_000_000,
        "reported_us": T0_US + 95_400_000,
        "data_mode": DataMode.SIMULATED,
        "status": TrackStatus.UPDATE,
        "missile_class": MissileClass.IRBM,
        "boosting": False,
        "position_m": POSITION_M,
        "velocity_mps": VELOCITY_MPS,
        "covariance": covariance_upper(),
        "launch": make_ground_point(),
        "impact": make_ground_point(
            lat_deg=40.9,
            lon_deg=139.2,
            time_us=T0_US + 1_100_000_000,
            ellipse=Ellipse(40.0, 12.0, 95.0),
        ),
        "quality": 12,
        "releasable_to": (Nation.USA, Nation.KOR, Nation.JPN),
        "classification": "UNCLASSIFIED//EXERCISE",
        "scenario_id": "test-scenario",
    }
    values.update(overrides)
    return MissileWarning(**values)


def make_alert(**overrides: Any) -> FusedAlert:
    """Version 2 of a fused track fed by KOR and JPN, first seen by KOR."""
    values: dict[str, Any] = {
        "system_track_id": "SYS-0001",
        "version": 2,
        "status": AlertStatus.UPDATE,
        "contributors": (
            Contributor(Nation.KOR, "KOR-0001", T0_US + 95_000_000),
            Contributor(Nation.JPN, "JPN-0007", T0_US + 94_000_000),
        ),
        "first_detection_us": T0_US + 30_000_000,
        "first_detection_nation": Nation.KOR,
        "state_time_us": T0_US + 95_000_000,
        "position_m": POSITION_M,
        "velocity_mps": VELOCITY_MPS,
        "covariance": covariance_upper(300.0, 10.0),
        "launch": make_ground_point(),
        "impact": make_ground_point(lat_deg=40.9, lon_deg=139.2, time_us=T0_US + 1_100_000_000),
        "missile_class": MissileClass.IRBM,
        "alert_us": T0_US + 95_600_000,
        "newest_report_us": T0_US + 95_400_000,
        "threatened": (Nation.JPN,),
        "data_mode": DataMode.SIMULATED,
        "note": "",
        "scenario_id": "test-scenario",
    }
    values.update(overrides)
    return FusedAlert(**values)


def make_launch(**overrides: Any) -> LaunchEvent:
    """A Hwasong-12 style IRBM lofted east from near Pyongyang."""
    values: dict[str, Any] = {
        "scenario_id": "test-scenario",
        "launch_id": "L-0001",
        "site": "sunan",
        "site_lat_deg": 39.2,
        "site_lon_deg": 125.67,
        "launch_time_us": T0_US,
        "missile": "hwasong-12",
        "missile_class": MissileClass.IRBM,
        "bearing_deg": 80.0,
        "range_km": 1_000.0,
        "apogee_km": 970.0,
        "data_mode": DataMode.SIMULATED,
        "seed": 42,
        "scenario_start_us": T0_US - 10_000_000,
    }
    values.update(overrides)
    return LaunchEvent(**values)


def make_dead_letter(**overrides: Any) -> DeadLetter:
    """A garbage value rejected by the bridge."""
    values: dict[str, Any] = {
        "topic": "warnings.kor",
        "partition": 1,
        "offset": 1234,
        "key": b"KOR-0001",
        "value": b"\xde\xad\xbe\xef",
        "error_type": "framing",
        "reason": "unknown framing: first byte 0xde (want C3 01 or 00)",
        "time_us": T0_US + 96_000_000,
        "service": "bridge",
        "headers": {"origin": b"test"},
    }
    values.update(overrides)
    return DeadLetter(**values)


SAMPLES = {
    "warning": make_warning,
    "alert": make_alert,
    "launch": make_launch,
    "dead_letter": make_dead_letter,
}
