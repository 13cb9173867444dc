"""Entry script of the PyInstaller bundle (see build.spec): the same
dispatch as the ``octguard`` console script (app.entry)."""
import multiprocessing
import os
import sys

if getattr(sys, "frozen", False):
    # The bundle keeps only the CUDA libraries needed to *load* torch, not
    # those it needs to compute on a GPU (see build.spec), so it must never
    # pick a GPU: hide them before torch is imported.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    multiprocessing.freeze_support()

from app.entry import main  # noqa: E402

sys.exit(main())
