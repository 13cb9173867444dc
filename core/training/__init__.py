"""Training of the four models the paper compares: NT, AT, GCE and SSAT."""
from .config import METHODS, TrainConfig
from .loop import train

__all__ = ["METHODS", "TrainConfig", "train"]
