#!/usr/bin/env python3
"""Django's command-line utility for the try-on example (needs PYTHONPATH to include
clients/python; see README.md)."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tryon_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
