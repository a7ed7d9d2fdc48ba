"""Confero: phone and browser conferencing in one room."""

__version__ = "0.1.0"
