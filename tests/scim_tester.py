"""Runs scim2-tester (PyPI) against a SCIM server and prints every check's result as JSON.

Usage: SCIM_TESTER_TOKEN=<bearer token> python3 tests/scim_tester.py <base URL> [seed]

The base URL is the SCIM root, e.g. http://127.0.0.1:9000/scim/v2. The token is read from the
environment so that it does not show in the process list. scim2-tester fills resources with
random values (uuid4 for strings, random.choice for booleans such as `active`); the seed fixes
the `random` part so that a run is reproducible. Exit status: 0 when the checks ran (whatever
their results), 2 when scim2-tester is missing, 1 on any other failure to run.

Output, on stdout: {"version": "...", "results": [{"title", "status", "reason", "urn",
"resource_type", "tags"}, ...]}. `tests/scim_tester.rs` reads it and decides.
"""

import json
import os
import random
import sys


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 1
    base_url = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) == 3 else 7643
    token = os.environ.get("SCIM_TESTER_TOKEN", "")
    try:
        from importlib.metadata import version

        from httpx2 import Client
        from scim2_client.engines.httpx2 import SyncSCIMClient
        from scim2_tester import check_server
    except ImportError as error:
        print(
            f"scim2-tester is not installed ({error}): "
            "python3 -m pip install -r requirements-dev.txt",
            file=sys.stderr,
        )
        return 2

    random.seed(seed)
    http = Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    client = SyncSCIMClient(http)
    results = check_server(client)

    def urn(result):
        data = result.data
        return data.get("urn") if isinstance(data, dict) else None

    print(
        json.dumps(
            {
                "version": version("scim2-tester"),
                "results": [
                    {
                        "title": result.title,
                        "status": result.status.name,
                        "reason": result.reason,
                        "urn": urn(result),
                        "resource_type": result.resource_type,
                        "tags": sorted(result.tags or []),
                    }
                    for result in results
                ],
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
