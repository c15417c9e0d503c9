"""podkeeper's Ray bridge: runs a pod's unchanged runner inside a Ray actor (see bridge.py)."""
