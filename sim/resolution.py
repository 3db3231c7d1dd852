"""Sensor resolution: closely spaced objects inside one resolution cell give one detection.

A radar separates two objects only if they differ in range by more than its range
resolution (about c / 2B for a waveform of bandwidth B) *or* in direction by more
than its beamwidth (about lambda / D for an aperture D). A staring infrared sensor
separates two plumes only if they fall more than a pixel (its instantaneous field
of view) apart on the focal plane. Objects closer than that in every dimension are
*unresolved*: the sensor reports one detection where a tracker expects several,
until the objects separate.

Each object's return in a scan is an :class:`Echo`: its noise-free measurement,
the noise its own detection would carry, and its amplitude (a fluctuating radar
cross-section or plume brightness; exponential, as a Swerling I/II target's power
is). :func:`resolve` links every two echoes of a scan that the sensor cannot tell
apart, and each connected group becomes one detection at the amplitude-weighted
centroid of its members (the centroid a monopulse or a focal-plane centroider
measures on a blend), carrying the noise of its strongest member. The strongest
member is also the detection's origin for the scorer: the object that dominates
what the sensor measured.

Each detection says how many echoes it blends (``Detection.merged``): a radar tells
its blends by the monopulse ratio, and the national tracker reads them with the cell's
noise added (``tracking.blends``); an infrared sensor's blends are read as points.

Doppler resolution is not modelled (a pulse-Doppler radar could separate two
objects in one cell by their range rates): a deliberate simplification towards
more merging, not less.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from measurement.models import MeasurementKind
from trilink.geodesy import FloatArray

BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Echo:
    """One object's return in one scan, before the sensor resolves the scan."""

    truth: FloatArray  # (dim,) noise-free measurement
    noise: FloatArray  # (dim,) the noise a detection of this object alone would carry
    amplitude: float
    origin: str | None  # what caused it (a launch id): the scorer's label, never the tracker's


@dataclass(frozen=True, slots=True)
class Detection:
    """What the sensor reports: a measurement and the echoes it blends (one if resolved)."""

    z: FloatArray
    origin: str | None
    merged: int  # how many echoes it blends


@dataclass(frozen=True, slots=True)
class Resolution:
    """A sensor's resolution cell (0 for a dimension: resolves any separation in it)."""

    kind: MeasurementKind
    range_m: float = 0.0  # radar only
    angle_rad: float = 0.0

    @property
    def _perfect(self) -> bool:
        # A zero cell in a dimension the sensor needs to blend: it resolves everything.
        return self.angle_rad <= 0.0 or (self.kind is MeasurementKind.RADAR and self.range_m <= 0.0)

    def all_apart(self, truth: FloatArray) -> bool:
        """A cheap sufficient test that every echo is resolved: for a radar, no two
        within a range cell of each other (most scans of a raid)."""
        if self._perfect:
            return True
        if self.kind is MeasurementKind.RADAR:
            return bool(np.all(np.diff(np.sort(truth[:, 0])) >= self.range_m))
        return False

    def unresolved(self, truth: FloatArray) -> BoolArray:
        """Pairwise (n, n) bool: which echoes (noise-free measurements (n, dim)) the
        sensor cannot separate."""
        if self._perfect:
            return np.eye(truth.shape[0], dtype=bool)
        if self.kind is MeasurementKind.RADAR:
            az, el = truth[:, 1], truth[:, 2]
            u = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=1)
            chord = np.linalg.norm(u[:, None, :] - u[None, :, :], axis=2)
            apart = 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
            close_range = np.abs(truth[:, None, 0] - truth[None, :, 0]) < self.range_m
            return close_range & (apart < self.angle_rad)
        delta = truth[:, None, :2] - truth[None, :, :2]
        return np.hypot(delta[..., 0], delta[..., 1]) < self.angle_rad


def resolve(resolution: Resolution, echoes: Sequence[Echo]) -> list[Detection]:
    """The detections a sensor reports for one scan's echoes, in the order of each
    group's first echo (so a scan of resolved objects keeps its order)."""
    if len(echoes) == 1:
        return [_alone(echoes[0])]
    truth = np.stack([e.truth for e in echoes])
    if resolution.all_apart(truth):
        return [_alone(e) for e in echoes]
    count, label = connected_components(csr_matrix(resolution.unresolved(truth)), directed=False)
    groups = sorted((np.flatnonzero(label == g) for g in range(count)), key=lambda m: int(m[0]))
    return [
        _alone(echoes[int(m[0])])
        if m.size == 1
        else _blend(resolution.kind, [echoes[int(i)] for i in m])
        for m in groups
    ]


def _alone(e: Echo) -> Detection:
    return Detection(e.truth + e.noise, e.origin, 1)


def _blend(kind: MeasurementKind, members: Sequence[Echo]) -> Detection:
    """One detection for unresolved echoes: the amplitude-weighted centroid."""
    strongest = max(members, key=lambda e: e.amplitude)
    w = np.array([e.amplitude for e in members])
    truth = np.stack([e.truth for e in members])
    if kind is MeasurementKind.RADAR:
        # Azimuth wraps at ±pi: average the offsets from the strongest member's.
        offset = (truth[:, 1] - strongest.truth[1] + np.pi) % (2.0 * np.pi) - np.pi
        truth[:, 1] = strongest.truth[1] + offset
    centroid = (w / w.sum()) @ truth
    if kind is MeasurementKind.RADAR:
        centroid[1] = (centroid[1] + np.pi) % (2.0 * np.pi) - np.pi
    return Detection(centroid + strongest.noise, strongest.origin, len(members))
