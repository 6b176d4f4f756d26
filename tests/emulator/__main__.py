"""``python -m tests.emulator --world FILE``: serve a world until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import List, Optional

from .server import Emulator


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--world", required=True, type=Path, help="world file (YAML or JSON)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the URL here once listening")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a fresh self-signed certificate")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--variant", action="append", metavar="NAME",
                        help="a provider variant (docs/emulator.md); repeat to combine, later ones win")
    args = parser.parse_args(argv)

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *args: stopping.set())
    emu = Emulator(args.world, port=args.port, tls=args.tls, latency_ms=args.latency_ms, seed=args.seed,
                   host=args.host, variant=args.variant).start()
    try:
        print("EMULATOR_URL=%s" % emu.url)
        if emu.ca_path:
            print("EMULATOR_CA=%s" % emu.ca_path)
        sys.stdout.flush()
        if args.port_file:
            partial = args.port_file.with_name(args.port_file.name + ".tmp")
            partial.write_text(emu.url + "\n")
            os.replace(partial, args.port_file)
        while not stopping.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
