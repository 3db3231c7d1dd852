"""``trilink sim``: solve missile trajectories and browse the simulator's catalogues."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from cli.assess import assess_trajectory
from cli.assess import summary as threat_summary
from cli.common import PhysicsOption, physics_choice
from sim.catalog import get_site, historical, missiles, sites
from sim.errors import SimError
from sim.kepler import minimum_energy_apogee_km
from sim.solve import solve_trajectory
from trilink.physics import DEFAULT_PHYSICS

sim_app = typer.Typer(
    help="Ballistic flight model: solve trajectories, list sites, missiles and past launches.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``sim`` command group to the root app."""
    app.add_typer(sim_app, name="sim")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _parse_lat_lon(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        _fail(f"--from wants LAT,LON in decimal degrees, got {text!r}")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0):
        _fail(f"--from {text!r} is not a valid latitude,longitude")
    return lat, lon


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False))


@sim_app.command("trajectory")
def trajectory(
    from_: str | None = typer.Option(
        None, "--from", metavar="LAT,LON", help="Launch point, decimal degrees."
    ),
    site: str | None = typer.Option(None, "--site", help="Launch site name (see `sim sites`)."),
    bearing: float = typer.Option(..., "--bearing", help="Geodesic bearing to impact, degrees."),
    range_km: float = typer.Option(..., "--range-km", help="Ground range to impact, km."),
    apogee_km: float | None = typer.Option(
        None, "--apogee-km", help="Apogee above the ellipsoid, km [default: minimum-energy]."
    ),
    missile: str = typer.Option(
        "unknown", "--missile", help="Missile key, alias or class (SRBM, ICBM, ...)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    physics: PhysicsOption = None,
) -> None:
    """Solve the trajectory that reproduces a reported range and apogee."""
    if (from_ is None) == (site is None):
        _fail("give exactly one of --from LAT,LON and --site NAME")
    try:
        if site is not None:
            found = get_site(site)
            lat, lon, site_key = found.lat_deg, found.lon_deg, found.key
        else:
            lat, lon = _parse_lat_lon(from_ or "")
            site_key = None
        if apogee_km is None and range_km > 0.0:
            apogee_km = minimum_energy_apogee_km(range_km)
        model = physics_choice(physics) or DEFAULT_PHYSICS
        traj = solve_trajectory(lat, lon, bearing, range_km, apogee_km or 0.0, missile, model)
    except SimError as exc:
        _fail(str(exc))
    summary = traj.to_summary()
    if site_key is not None:
        summary["site"] = site_key
    summary["threat"] = threat_summary(assess_trajectory(traj))
    if as_json:
        _print_json(summary)
        return
    table = Table(title=f"{traj.missile} ({traj.missile_class.value})", show_header=False)
    threat = summary.pop("threat")
    for key, value in summary.items():
        table.add_row(key, str(value))
    table.add_row("threat", threat["description"])
    table.add_row("warning", ", ".join(w["name"] for w in threat["warning"]) or "—")
    Console().print(table)


@sim_app.command("sites")
def list_sites(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the launch sites (CNS facility table)."""
    rows: list[dict[str, Any]] = [
        {"key": s.key, "name": s.name, "lat": s.lat_deg, "lon": s.lon_deg} for s in sites().values()
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("key", "name", "lat", "lon")
    for r in rows:
        table.add_row(r["key"], r["name"], f"{r['lat']:.4f}", f"{r['lon']:.4f}")
    Console().print(table)


@sim_app.command("missiles")
def list_missiles(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the missile types with class, burn time and typical range."""
    rows: list[dict[str, Any]] = [
        {
            "key": m.key,
            "name": m.name,
            "class": m.missile_class.value,
            "burn_s": m.burn_s,
            "stages": len(m.stages),
            "range_km": list(m.range_km),
        }
        for m in missiles().values()
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("key", "name", "class", "burn s", "stages", "range km")
    for r in rows:
        low, high = r["range_km"]
        table.add_row(
            r["key"], r["name"], r["class"], f"{r['burn_s']:g}", str(r["stages"]), f"{low}-{high}"
        )
    Console().print(table)


@sim_app.command("historical")
def list_historical(
    date: str | None = typer.Argument(None, help="YYYY-MM-DD (UTC or Korean date); all if absent."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List catalogued launches (CNS North Korea Missile Test Database)."""
    try:
        launches = historical(date)
    except SimError as exc:
        _fail(str(exc))
    rows = [
        {
            "date": h.date,
            "time_utc": h.time_utc,
            "series": h.series,
            "missile": h.missile,
            "facility": h.facility,
            "range_km": h.range_km,
            "apogee_km": h.apogee_km,
            "bearing_deg": h.bearing_deg,
            "flight_time_s": h.flight_time_s,
        }
        for h in launches
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("date", "time", "#", "missile", "site", "range", "apogee", "bearing", "flight s")
    for r in rows:
        table.add_row(
            *(
                "" if r[k] is None else str(r[k])
                for k in (
                    "date",
                    "time_utc",
                    "series",
                    "missile",
                    "facility",
                    "range_km",
                    "apogee_km",
                    "bearing_deg",
                    "flight_time_s",
                )
            )
        )
    Console().print(table)
