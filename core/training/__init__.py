"""Training of the four models the paper compares: NT, AT, GCE and SSAT."""
from .config import METHODS, TrainConfig

__all__ = ["METHODS", "TrainConfig", "train"]


def __getattr__(name: str):
    # the training loop imports torch: `octguard --help` and the viewer's
    # start-up read TrainConfig only, and must not wait for it
    if name == "train":
        from .loop import train
        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
