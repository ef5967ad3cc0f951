"""``python -m cxpulse`` runs the CLI (used to start child processes without relying on PATH)."""

from cxpulse.cli import main

main()
