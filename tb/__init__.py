"""The testbench, by role in the order data flows (see README.md)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project's root (where the Makefile is)
