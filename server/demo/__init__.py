"""Demo data for trying the system (`flask seed-demo`): the county (county.py) and a campaign's activity so
far (activity.py, from the script in script.py, with pictures.py's photos); never used in production."""
