"""Exit 0 when the PostgreSQL URL given as argument accepts a connection, else 1."""

import sys

import psycopg


def main() -> int:
    url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(url, connect_timeout=3):
            return 0
    except psycopg.Error:
        return 1


if __name__ == "__main__":
    sys.exit(main())
