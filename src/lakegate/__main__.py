"""``python -m lakegate`` runs the CLI."""

from lakegate.cli import main

main()
