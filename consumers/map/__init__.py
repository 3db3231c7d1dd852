"""``trilink map``: the common operating picture in a browser.

A local web server reads the shared alerts topic (and, where the cluster has them,
the launches' ground truth and each nation's warnings) and streams the picture to
the page, which draws it with no tile server and no internet: coastlines and
borders, the sensors and their coverage, each missile's launch point, trajectory,
ground track, position, impact ellipse and threatened areas, and a timeline of who
detected it when and what lead sharing gave Japan.

* :mod:`consumers.map.feed`     Kafka -> state (a thread);
* :mod:`consumers.map.state`    the thread-safe, coalescing state;
* :mod:`consumers.map.tracks`   one track as the page shows it;
* :mod:`consumers.map.geometry` ellipses, radar coverage, predicted flight;
* :mod:`consumers.map.server`   aiohttp: the page, its assets and server-sent events.
"""

from consumers.map.feed import FeedConfig, MapFeed
from consumers.map.geometry import SensorSite
from consumers.map.server import MapServer, ServerConfig, vendor_missing
from consumers.map.state import MapState
from consumers.map.tracks import LaunchSite, MapContext

__all__ = [
    "FeedConfig",
    "LaunchSite",
    "MapContext",
    "MapFeed",
    "MapServer",
    "MapState",
    "SensorSite",
    "ServerConfig",
    "vendor_missing",
]
