"""Cursor-on-Target gateway: fused alerts as CoT events for TAK clients and servers.

:mod:`~consumers.cot.events` turns an alert into events (pure; the mapping is in
its docstring), :mod:`~consumers.cot.send` puts them on TCP or UDP without ever
blocking the reader, and :mod:`~consumers.cot.gateway` follows the alerts topic.
"""

from consumers.cot.events import CotEvent, CotTiming, Kind, alert_events, event_uid
from consumers.cot.text import PlaceNamer

__all__ = ["CotEvent", "CotTiming", "Kind", "PlaceNamer", "alert_events", "event_uid"]
