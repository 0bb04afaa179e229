"""Waste-logistics optimizer."""

__version__ = "0.1.0"
