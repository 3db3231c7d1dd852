"""Measurement models shared by the simulator and the trackers."""
