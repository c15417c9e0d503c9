"""podkeeper_pod: the generic runner of podkeeper's Python pods (see __main__.py for the data flow).

Stdlib only, Python >= 3.9. Run as `python -u -m podkeeper_pod <recipe_dir>` (the daemon uses the
lighter `-c "from podkeeper_pod.__main__ import run; run()"`, without runpy); nothing is imported
here so that start-up stays close to a bare interpreter's.
"""
