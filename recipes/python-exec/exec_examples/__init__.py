"""Example deployed code: what `podkeeper.manifest.json` routes requests without code to."""
