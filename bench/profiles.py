"""Sizes of the three profiles: the same code, more or less of it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    ping_pong_samples: int
    hop_rates: tuple[tuple[float, float], ...]  # (records/s, seconds)
    hop_warmup_s: float
    linger_sweep: tuple[int, ...]  # linger.ms values tried at linger_rate
    linger_rate: float
    linger_s: float
    pipeline_rates: tuple[tuple[float, float], ...]  # (warnings/s, seconds measured)
    pipeline_warmup_s: float
    catch_up_s: float  # how long a bridge that fell behind may take to drain its backlog
    variant_rate: float  # where bridge settings are varied to see what the latency is made of
    variant_s: float
    variant_count: int  # how many of the bridge-setting variants to run (suite.VARIANTS)
    throughput_warnings: int
    throughput_non_transactional: bool
    memory_rate: float
    memory_s: float
    memory_warmup_s: float
    sim_launches: int | None  # None: the whole salvo-20 scenario
    profile_warnings: int  # steady-state warnings the engine is profiled on (0: no profiling)
    engine_profile_rate: float  # the salvo shape of the engine profile
    service_profile: bool  # also profile the bridge service draining them from the broker
    threat_scenarios: tuple[str, ...]  # whose offline alerts the threat assessment is timed on
    threat_repeats: int  # passes over those alerts (an alert's cost is its fastest)
    verification_warnings: int  # steady warnings the engine runs with and without verifying
    verification_repeats: int  # passes of each (the figure is their median)
    verification_drain: bool  # also drain the throughput warnings signed, with a protected bridge
    scaling_missiles: tuple[int, ...]  # missiles in flight of the engine's cost curve
    scaling_warmup_s: float  # event time before the windows are timed
    scaling_window: int  # warnings per timed window
    scaling_repeats: int  # timed windows per point (the figure is their median)
    scaling_stagger_s: float  # tracks in flight at the start begin reporting over this long
    peer_scenarios: tuple[str, ...]  # trilink against the Stone Soup peer on these (bench.peer)
    peer_repeats: int  # timed passes of each fuser (the figure is the fastest)


FULL = Profile(
    name="full",
    ping_pong_samples=1000,
    hop_rates=((100, 20), (1000, 10), (10000, 5)),
    hop_warmup_s=2.0,
    linger_sweep=(0, 5, 20),
    linger_rate=1000,
    linger_s=5,
    pipeline_rates=((100, 30), (1000, 10), (10000, 5)),
    pipeline_warmup_s=3.0,
    catch_up_s=60.0,
    variant_rate=1000,
    variant_s=10,
    variant_count=2,
    throughput_warnings=100_000,
    throughput_non_transactional=True,
    memory_rate=1000,
    memory_s=600,
    memory_warmup_s=60,
    sim_launches=None,
    profile_warnings=20_000,
    engine_profile_rate=10_000,
    service_profile=True,
    threat_scenarios=("demo", "salvo-20", "2022-10-04", "tight-salvo"),
    threat_repeats=5,
    verification_warnings=20_000,
    verification_repeats=5,
    verification_drain=True,
    scaling_missiles=(10, 100, 1000),
    scaling_warmup_s=30.0,
    scaling_window=2_000,
    scaling_repeats=5,
    scaling_stagger_s=10.0,
    peer_scenarios=(
        "tight-salvo",
        "salvo-20",
        "scenarios/battery/mixed-3-sites.yaml",
        "scenarios/battery/ripple-kn25-6x4s.yaml",
    ),
    peer_repeats=2,
)

QUICK = Profile(
    name="quick",
    ping_pong_samples=200,
    hop_rates=((100, 1.5), (1000, 1.5), (10000, 1.5)),
    hop_warmup_s=1.0,
    linger_sweep=(),
    linger_rate=1000,
    linger_s=0,
    # Long enough to pass the alert policy's 10 s interval UPDATEs after the salvo's NEWs.
    pipeline_rates=((100, 9), (1000, 9), (10000, 1)),
    pipeline_warmup_s=2.5,
    catch_up_s=2.0,
    variant_rate=1000,
    variant_s=0,  # the settings table is the full run's: within 2 min there is no room
    variant_count=0,
    throughput_warnings=10_000,
    throughput_non_transactional=False,
    memory_rate=1000,
    memory_s=8,
    memory_warmup_s=5,
    sim_launches=None,
    profile_warnings=4_000,
    engine_profile_rate=1_000,
    service_profile=False,
    threat_scenarios=("2022-10-04", "tight-salvo"),
    threat_repeats=3,
    verification_warnings=1_500,
    verification_repeats=3,
    verification_drain=False,  # two more broker drains would not fit in 2 min
    scaling_missiles=(10, 100, 1000),
    scaling_warmup_s=12.0,
    scaling_window=400,
    scaling_repeats=3,
    scaling_stagger_s=10.0,
    peer_scenarios=("tight-salvo",),
    peer_repeats=1,
)

TINY = Profile(
    name="tiny",
    ping_pong_samples=20,
    hop_rates=((1000, 0.5),),
    hop_warmup_s=0.2,
    linger_sweep=(),
    linger_rate=1000,
    linger_s=0,
    pipeline_rates=((1000, 1.5),),
    pipeline_warmup_s=0.3,
    catch_up_s=5.0,
    variant_rate=1000,
    variant_s=0,
    variant_count=0,
    throughput_warnings=1_000,
    throughput_non_transactional=False,
    memory_rate=200,
    memory_s=4,
    memory_warmup_s=1,
    sim_launches=2,
    profile_warnings=0,
    engine_profile_rate=1_000,
    service_profile=False,
    threat_scenarios=("2022-10-04",),
    threat_repeats=2,
    verification_warnings=300,
    verification_repeats=1,
    verification_drain=True,
    scaling_missiles=(10, 100),
    scaling_warmup_s=12.0,
    scaling_window=100,
    scaling_repeats=1,
    scaling_stagger_s=10.0,
    peer_scenarios=("tight-salvo",),
    peer_repeats=1,
)

PROFILES = {p.name: p for p in (FULL, QUICK, TINY)}
