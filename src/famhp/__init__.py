"""famhp: the FAMHP (FAGG/AFMPS) contribution scheme for the medical-device sector."""

__version__ = "0.1.0"
