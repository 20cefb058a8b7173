"""Python `cryptography` side of the Fernet interop tests (crates/cli/tests/it/python_interop.rs).

Usage: fernet_interop.py encrypt|decrypt|timestamp|rotate --key K[,K...] [--ttl S] [--at T]
Input on stdin, output on stdout without a trailing newline. An invalid token prints one line
on stderr and exits 1, like `vaultref fernet decrypt`.
"""

import argparse
import sys

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["encrypt", "decrypt", "timestamp", "rotate"])
    parser.add_argument("--key", required=True, help="comma-separated, first key encrypts")
    parser.add_argument("--ttl", type=int)
    parser.add_argument("--at", type=int, help="current time in Unix seconds")
    args = parser.parse_args()

    ring = MultiFernet([Fernet(key) for key in args.key.split(",")])
    data = sys.stdin.buffer.read()
    try:
        if args.command == "encrypt":
            if args.at is None:
                out = ring.encrypt(data)
            else:
                out = Fernet(args.key.split(",")[0]).encrypt_at_time(data, args.at)
        elif args.command == "decrypt":
            token = data.strip()
            if args.at is None:
                out = ring.decrypt(token, ttl=args.ttl)
            elif args.ttl is None:
                sys.exit("--at needs --ttl")
            else:
                out = ring.decrypt_at_time(token, ttl=args.ttl, current_time=args.at)
        elif args.command == "timestamp":
            out = str(ring.extract_timestamp(data.strip())).encode()
        else:
            out = ring.rotate(data.strip())
    except InvalidToken:
        print("python: invalid token", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
