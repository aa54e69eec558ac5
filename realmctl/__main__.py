"""Allows `python -m realmctl`."""

from realmctl.cli import main

if __name__ == "__main__":
    main()
