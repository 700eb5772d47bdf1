"""``python -m sync.client``: the command that simulates an inspector's day."""

from sync.client.simulate import main

if __name__ == "__main__":
    raise SystemExit(main())
