"""``trilink assess``: who a launch threatens — overflight, impact zone, warning list.

Assesses the simulator's replay of a historical launch (``--historical DATE``) or a
trajectory solved from flags (as ``trilink sim trajectory``). Times are seconds
after launch (T+).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pymap3d
import typer
from rich.console import Console
from rich.table import Table

from cli.common import fail
from sim.catalog import HistoricalLaunch, get_site, historical
from sim.errors import SimError
from sim.flight import Trajectory
from sim.kepler import minimum_energy_apogee_km
from sim.solve import solve_historical, solve_trajectory
from threat.alert import default_assessor
from threat.track import GroundTrack
from trilink.constants import US
from trilink.geodesy import ELLIPSOID
from trilink.model import Ellipse, GroundPoint
from trilink.threat import ThreatAssessment

TRACK_STEP_S = 5.0  # a missile covers < 20 km of ground in 5 s: finer than any strait


def register(app: typer.Typer) -> None:
    """Add ``assess`` to the root app."""
    app.command("assess")(assess)


def trajectory_track(traj: Trajectory, step_s: float = TRACK_STEP_S) -> GroundTrack:
    """The ground track of a simulated flight; times are µs after launch."""
    t = np.append(np.arange(0.0, traj.flight_time_s, step_s), traj.flight_time_s)
    r, _ = traj.state_at(t, clamp=True)
    lat, lon, _ = pymap3d.ecef2geodetic(r[:, 0], r[:, 1], r[:, 2], ell=ELLIPSOID)
    return GroundTrack.from_samples(lat, lon, np.round(t * US).astype(np.int64))


def assess_trajectory(traj: Trajectory, spread: float | None = None) -> ThreatAssessment:
    """Assess a simulated flight against its true impact point (no uncertainty)."""
    impact = GroundPoint(
        traj.impact_lat_deg, traj.impact_lon_deg, round(traj.flight_time_s * US), Ellipse(0, 0, 0)
    )
    return default_assessor().assess(trajectory_track(traj), impact, spread=spread)


def _s(us: int) -> float:
    return round(us / US, 1)


def summary(found: ThreatAssessment) -> dict[str, Any]:
    """Plain-JSON form with times as seconds after launch."""
    return {
        "zone": found.zone.value,
        "zone_nation": found.zone_nation,
        "description": found.description,
        "reference": {
            "name": found.reference,
            "nation": found.reference_nation,
            "distance_km": found.reference_km,
            "bearing_deg": found.reference_bearing_deg,
        },
        "ellipse_land": list(found.ellipse_land),
        "ellipse_waters": list(found.ellipse_waters),
        "overflown": [
            {
                "nation": o.nation,
                "units": list(o.units),
                "enter_s": _s(o.enter_us),
                "exit_s": _s(o.exit_us),
            }
            for o in found.overflights
        ],
        "warning": [
            {
                "code": w.code,
                "name": w.name,
                "nation": w.nation,
                "t_s": _s(w.time_us),
                "overflown": w.overflown,
            }
            for w in found.warning
        ],
        "impact_s": _s(found.impact_us),
    }


def _launch_row(
    h: HistoricalLaunch | None, traj: Trajectory, found: ThreatAssessment
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "missile": traj.missile,
        "launch_lat": round(traj.launch_lat_deg, 4),
        "launch_lon": round(traj.launch_lon_deg, 4),
        "impact_lat": round(traj.impact_lat_deg, 4),
        "impact_lon": round(traj.impact_lon_deg, 4),
    }
    if h is not None:
        row = {"date": h.date_kst, "time_utc": h.time_utc, "series": h.series, **row}
    return row | summary(found)


def _table(rows: list[dict[str, Any]]) -> None:
    table = Table("launch", "overflown", "impact", "description", "warning (T+ s)", "impact T+")
    for r in rows:
        over = "; ".join(
            f"{o['nation']} {','.join(o['units'])} {o['enter_s']:.0f}s" for o in r["overflown"]
        )
        warn = ", ".join(f"{w['name']} {w['t_s']:.0f}" for w in r["warning"])
        zone = f"{r['zone']} {r['zone_nation']}".strip()
        launch = f"{r.get('date', '')} {r['missile']}".strip()
        table.add_row(
            launch, over or "-", zone, r["description"], warn or "-", f"{r['impact_s']:.0f}s"
        )
    Console().print(table)


def assess(
    historical_date: str | None = typer.Option(
        None, "--historical", metavar="YYYY-MM-DD", help="Every catalogued launch of that day."
    ),
    site: str | None = typer.Option(None, "--site", help="Launch site (see `sim sites`)."),
    bearing: float | None = typer.Option(None, "--bearing", help="Bearing to impact, degrees."),
    range_km: float | None = typer.Option(None, "--range-km", help="Ground range, km."),
    apogee_km: float | None = typer.Option(
        None, "--apogee-km", help="Apogee, km [default: minimum-energy]."
    ),
    missile: str = typer.Option("unknown", "--missile", help="Missile key, alias or class."),
    spread: float | None = typer.Option(
        None,
        "--spread",
        min=0.0,
        max=2.0,
        help="Warning corridor growth, km per km of range "
        "[default: 0.1; ~0.5 for an early prediction].",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per launch."),
) -> None:
    """Who a launch threatens: overflown nations and units, impact zone, warning list."""
    flags = (site, bearing, range_km)
    if historical_date is not None and any(f is not None for f in flags):
        fail("give either --historical DATE or --site/--bearing/--range-km, not both")
    if historical_date is None and any(f is None for f in flags):
        fail("give --historical DATE, or all of --site, --bearing and --range-km")
    rows = []
    try:
        if historical_date is not None:
            for h in historical(historical_date):
                traj = solve_historical(h)
                rows.append(_launch_row(h, traj, assess_trajectory(traj, spread)))
        else:
            assert site is not None and bearing is not None and range_km is not None
            where = get_site(site)
            apogee = apogee_km if apogee_km is not None else minimum_energy_apogee_km(range_km)
            traj = solve_trajectory(
                where.lat_deg, where.lon_deg, bearing, range_km, apogee, missile
            )
            rows.append(_launch_row(None, traj, assess_trajectory(traj, spread)))
    except SimError as exc:
        fail(str(exc))
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r, ensure_ascii=False))
        return
    _table(rows)
