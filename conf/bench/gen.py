#!/usr/bin/env python3
"""Writes the issue-3 benchmark configuration: VS virtual servers × RS real servers,
every real server with an HTTP_GET checker (127 lines per virtual server, so
1,000 × 10 gives 127,000 lines).

    python3 conf/bench/gen.py [--vs 1000] [--rs 10] > bench.conf

Addresses come from TEST-NET / documentation-style private ranges and are only
ever parsed (`lvsd check`, `keepalived -t`), never configured.
"""

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vs", type=int, default=1000, help="virtual servers")
    parser.add_argument("--rs", type=int, default=10, help="real servers per virtual server")
    args = parser.parse_args()
    out = []
    out.append("global_defs {\n    router_id bench\n}\n")
    for v in range(args.vs):
        out.append(f"virtual_server 10.1.{v // 250}.{v % 250 + 1} 80 {{\n")
        out.append("    delay_loop 10\n")
        out.append("    lvs_sched wlc\n")
        out.append("    lvs_method NAT\n")
        out.append("    protocol TCP\n")
        out.append("    persistence_timeout 300\n")
        for r in range(args.rs):
            n = v * args.rs + r
            out.append(f"    real_server 10.2.{n // 250}.{n % 250 + 1} 8080 {{\n")
            out.append(f"        weight {1 + r % 5}\n")
            out.append("        HTTP_GET {\n")
            out.append("            url {\n")
            out.append("                path /health\n")
            out.append("                status_code 200\n")
            out.append("            }\n")
            out.append("            connect_timeout 3\n")
            out.append("            retry 3\n")
            out.append("            delay_before_retry 2\n")
            out.append("        }\n")
            out.append("    }\n")
        out.append("}\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
