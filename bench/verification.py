"""The bridge with and without record verification, on the same signed warnings (issue 15).

Every warning carries its nation's signed confidentiality label
(``producers.labelling.Labeller``: label from the default release policy, message id
derived from nation, track and sequence, Ed25519 signature), made with keys from
``trilink.security.init_keys`` in a temporary directory. The same records then go
through the bridge twice, once unprotected (the headers travel but are not read)
and once protected (``bridge.protection.Protection`` with the bridge's key and the
trust store), so the difference is what protection costs and nothing else:

* **engine alone** (``Engine.process``, no Kafka): the salvo of the engine profile
  (10,000/s in the full profile, as the throughput section) in batches of
  the service's size; its first 3 s (every track being created) untimed, the next
  warnings timed, with and without ``verifier=protection.verifier()``, alternately,
  on a fresh engine each time; the median of the repetitions. Verification is all
  the engine does differently.
* **bridge service on the broker** (``bench.throughput.drain``, as section 3): the
  same preloaded signed warnings drained by an unprotected and by a protected bridge
  process on one core. The protected bridge also labels and signs every alert it
  issues and keeps the label on dead letters.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.profiling import engine_records
from bench.throughput import Headers, drain
from bench.workload import Outgoing
from bridge.config import BridgeConfig, EngineConfig
from bridge.engine import Engine, Inbound
from bridge.protection import Protection
from producers.labelling import Labeller
from trilink.codec import Codec
from trilink.config import Topics
from trilink.model import MissileWarning, Nation
from trilink.security import init_keys, load_signer, load_trust

_ALL = frozenset((Nation.USA, Nation.KOR, Nation.JPN))


def protection(keys_dir: Path) -> Protection:
    """The bridge's protection from the keys in ``keys_dir``, audience all three nations."""
    return Protection(
        load_signer(keys_dir / "BRIDGE.key"), load_trust(keys_dir / "trust.json"), _ALL
    )


def sign(records: Sequence[Outgoing], keys_dir: Path) -> list[Headers]:
    """Each record's label and signature headers, as its nation's producer makes them."""
    codec = Codec()
    nation_of = {Topics().warnings(nation): nation for nation in _ALL}
    labellers = {
        nation: Labeller(nation, load_signer(keys_dir / f"{nation.value}.key")) for nation in _ALL
    }
    out: list[Headers] = []
    for r in records:
        nation = nation_of[r.topic]
        warning = codec.decode(r.value, MissileWarning)
        labeller = labellers[nation]
        label = labeller.policy.label(nation, warning.track_id, warning.reported_us)
        out.append(labeller.headers(r.value, label, warning))
    return out


def _engine_pass(
    inbound: Sequence[Inbound], split: int, batch: int, guard: Protection | None
) -> dict[str, float]:
    """One fresh engine over ``inbound``: the first ``split`` untimed, the rest timed."""
    verifier = None if guard is None else guard.verifier()
    engine = Engine(
        EngineConfig(topics=Topics()), Codec(), lambda: time.time_ns() // 1000, verifier=verifier
    )
    for i in range(0, split, batch):
        engine.process(inbound[i : min(i + batch, split)])
    alerts = dead = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(split, len(inbound), batch):
        out = engine.process(inbound[i : i + batch])
        alerts += len(out.alerts)
        dead += len(out.dead_letters)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if dead:
        raise RuntimeError(f"{dead} warnings dead-lettered: the comparison would be void")
    n = max(1, len(inbound) - split)
    return {"us": 1e6 * wall / n, "cpu_us": 1e6 * cpu / n, "alerts": alerts}


def engine_figures(rate: float, steady: int, repeats: int, keys_dir: Path) -> dict[str, Any]:
    """The engine's steady µs per warning and warnings/s with and without verification,
    on the salvo at ``rate``/s."""
    records, split = engine_records(rate, steady)
    headers = sign(records, keys_dir)
    inbound = [
        Inbound(r.topic, 0, i, r.key, r.value, dict(h))
        for i, (r, h) in enumerate(zip(records, headers, strict=True))
    ]
    batch = BridgeConfig().batch_size
    guard = protection(keys_dir)
    runs: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    _engine_pass(inbound[: split + batch], split, batch, guard)  # warm-up: imports, caches
    for _ in range(max(1, repeats)):
        runs["without"].append(_engine_pass(inbound, split, batch, None))
        runs["with"].append(_engine_pass(inbound, split, batch, guard))
    if runs["with"][0]["alerts"] != runs["without"][0]["alerts"]:
        raise RuntimeError("the protected engine issued other alerts than the unprotected one")
    out: dict[str, Any] = {
        "rate": rate,
        "warnings": len(inbound) - split,
        "untimed_first_warnings": split,
        "batch_size": batch,
        "repeats": max(1, repeats),
    }
    for mode, passes in runs.items():
        us = statistics.median(p["us"] for p in passes)
        out[mode] = {
            "us_per_warning": round(us, 1),
            "cpu_us_per_warning": round(statistics.median(p["cpu_us"] for p in passes), 1),
            "warnings_per_s": round(1e6 / us, 1),
            "passes_us": [round(p["us"], 1) for p in passes],
        }
    w, wo = out["with"], out["without"]
    out["ratio"] = round(w["warnings_per_s"] / wo["warnings_per_s"], 3)
    out["verify_us_per_warning"] = round(w["us_per_warning"] - wo["us_per_warning"], 1)
    out["verify_cpu_us_per_warning"] = round(w["cpu_us_per_warning"] - wo["cpu_us_per_warning"], 1)
    return out


def broker_figures(
    bootstrap: str, records: Sequence[Outgoing], keys_dir: Path, *, core: int | None
) -> dict[str, Any]:
    """The bridge service draining the same signed warnings, unprotected then protected."""
    headers = sign(records, keys_dir)
    pair: dict[str, Any] = {}
    for mode, keys in (("without", None), ("with", str(keys_dir))):
        run = drain(
            bootstrap,
            "bridge",
            records,
            transactional=True,
            core=core,
            headers=headers,
            keys_dir=keys,
        )
        if run.get("svc_dead_letters"):
            raise RuntimeError(
                f"{run['svc_dead_letters']} warnings dead-lettered ({mode} verification)"
            )
        pair[mode] = run
    w, wo = pair["with"]["warnings_per_s"], pair["without"]["warnings_per_s"]
    pair["ratio"] = round(w / wo, 3)
    pair["protection_us_per_warning"] = round(1e6 / w - 1e6 / wo, 1)
    return pair


def run(
    rate: float,
    steady: int,
    repeats: int,
    *,
    bootstrap: str | None = None,
    records: Sequence[Outgoing] = (),
    core: int | None = None,
) -> dict[str, Any]:
    """The suite's ``verification`` section: the engine alone, and (given a cluster and
    records) the bridge service draining them, each with and without verification."""
    with tempfile.TemporaryDirectory(prefix="bench-keys-") as tmp:
        keys_dir = Path(tmp)
        init_keys(keys_dir)
        out: dict[str, Any] = {"engine": engine_figures(rate, steady, repeats, keys_dir)}
        if bootstrap is not None and records:
            try:
                out["service"] = broker_figures(bootstrap, records, keys_dir, core=core)
            except Exception as exc:  # the engine figures stand on their own
                out["service"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
