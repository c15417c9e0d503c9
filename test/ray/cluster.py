"""A three-node Ray cluster on loopback for `npm run test:ray` (run with a Python that has ray).

    python cluster.py <temp_dir>

Starts a head (1 CPU) and two workers, one with the custom resource `gpu_host: 1`, all on 127.0.0.1,
without the dashboard. Prints one JSON line: {"address", "nodes": [{"name", "nodeId", "raylet"}]}.
Then waits for its stdin to close (or SIGTERM) and shuts the cluster down.
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 is set by the caller: with it Ray keeps 127.0.0.1 instead of
swapping in the machine's routable address, so no test traffic leaves loopback.
"""

from __future__ import annotations

import json
import os
import signal
import sys

NODE_ARGS = {
    "node_ip_address": "127.0.0.1",
    "include_dashboard": False,
    "object_store_memory": 80 * 1024 * 1024,
}


def main() -> None:
    os.environ["RAY_TMPDIR"] = sys.argv[
        1
    ]  # sessions, sockets, logs and the address file: all in it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from ray.cluster_utils import Cluster

    cluster = Cluster()
    try:
        cluster.add_node(**NODE_ARGS, num_cpus=1, resources={"head": 1})
        workers = [
            (
                "worker",
                cluster.add_node(**NODE_ARGS, num_cpus=1, resources={"worker": 1}),
            ),
            (
                "gpu",
                cluster.add_node(**NODE_ARGS, num_cpus=1, resources={"gpu_host": 1}),
            ),
        ]
        cluster.wait_for_nodes()
        nodes = [("head", cluster.head_node), *workers]
        info = {
            "address": cluster.address,
            "nodes": [
                {
                    "name": name,
                    "nodeId": node.node_id,
                    "raylet": node.all_processes["raylet"][0].process.pid,
                }
                for name, node in nodes
            ],
        }
        print(json.dumps(info), flush=True)
        sys.stdin.read()
    finally:
        cluster.shutdown()
        os._exit(0)


if __name__ == "__main__":
    main()
