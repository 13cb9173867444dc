"""``python -m app [PATH...]`` is ``octguard [PATH...]``: the viewer, or any subcommand."""
import sys

from app.entry import main

sys.exit(main())
