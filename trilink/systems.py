"""The two bilateral systems the trilateral arrangement links.

Korea and the US share the ROK-US system, Japan and the US the Japan-US system;
Korea and Japan have no direct link. Each system is its own Kafka cluster in
two-system mode. The bridge (INDOPACOM) is the only party connected to both: it
releases each partner's reports across to the other system when their label allows,
and fuses, per system, only what every nation on that system may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trilink.config import Topics
from trilink.enums import Nation


class System(StrEnum):
    """A bilateral system, by the name used in flags and environment variables."""

    ROKUS = "rokus"
    JPNUS = "jpnus"

    @property
    def partner(self) -> Nation:
        """The non-US nation on this system."""
        return Nation.KOR if self is System.ROKUS else Nation.JPN

    @property
    def other(self) -> System:
        return System.JPNUS if self is System.ROKUS else System.ROKUS

    @property
    def audience(self) -> frozenset[Nation]:
        """The nations that read this system: the picture released to it must be
        releasable to every one of them."""
        return frozenset((Nation.USA, self.partner))

    @property
    def display(self) -> str:
        return "ROK-US" if self is System.ROKUS else "Japan-US"

    def publishers(self) -> tuple[Nation, ...]:
        """Nations whose producers publish on this system (the US feeds both)."""
        return (Nation.USA, self.partner)

    def inputs(self, topics: Topics) -> dict[str, Nation]:
        """Topic -> nation the bridge's fusion reads on this system: the two
        publishers' own topics and the other partner's reports crossed in."""
        found = {topics.warnings(n): n for n in self.publishers()}
        found[topics.crossed(self.other.partner)] = self.other.partner
        return found


SYSTEMS: tuple[System, ...] = (System.ROKUS, System.JPNUS)


def home_system(nation: Nation) -> System:
    """The system a partner nation publishes on (the US publishes on both)."""
    for system in SYSTEMS:
        if system.partner is nation:
            return system
    raise ValueError(f"{nation.value} publishes on both systems or on none")


@dataclass(frozen=True, slots=True)
class Crossing:
    """One direction of release: ``nation``'s reports from its home system's warning
    topic to the crossing topic on the other system, if releasable to its audience."""

    nation: Nation

    @property
    def source(self) -> System:
        return home_system(self.nation)

    @property
    def target(self) -> System:
        return self.source.other

    def source_topic(self, topics: Topics) -> str:
        return topics.warnings(self.nation)

    def target_topic(self, topics: Topics) -> str:
        return topics.crossed(self.nation)


CROSSINGS: tuple[Crossing, ...] = (Crossing(Nation.KOR), Crossing(Nation.JPN))
