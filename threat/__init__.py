"""Who a missile threatens: overflight, impact zone, warning list and description.

- :mod:`threat.assess` — :class:`~threat.assess.Assessor`, the assessment itself.
- :mod:`threat.alert` — fill a ``FusedAlert``'s ``threat`` and ``threatened`` (the bridge's hook).
- :mod:`threat.track` — ground tracks and the warning corridor around them.
- :mod:`threat.describe` — reference points and Ministry-of-Defense-style wording.
- :mod:`threat.geodata` — the shipped data in ``threat/data/`` (built by :mod:`threat.extract`).

Stands on the tracking floor: imports only ``trilink``.
"""
