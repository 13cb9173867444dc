"""``python -m app [PATH...]`` starts the viewer."""
import sys

from app.main import run

sys.exit(run())
