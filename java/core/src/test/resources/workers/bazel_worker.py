#!/usr/bin/env python3
"""A Bazel persistent worker (JSON protocol) for the pool tests, standard library only.

Run with --persistent_worker (anything else: a message on stderr and exit status 2). Each WorkRequest
{"arguments": [...], "requestId": N} gets {"exitCode": 0, "output": the arguments joined by a space,
"requestId": N}; exitCode 1 if an argument is "fail". With --singleplex it omits requestId, as a singleplex worker
may. A request {"requestId": N, "cancel": true} gets no response of its own here (requests are answered at once).
"""

import json
import sys


def main(argv):
    if "--persistent_worker" not in argv:
        print("bazel_worker.py: this is a persistent worker; run it with --persistent_worker", file=sys.stderr)
        return 2
    singleplex = "--singleplex" in argv
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("cancel"):
            continue
        arguments = request.get("arguments", [])
        response = {"exitCode": 1 if "fail" in arguments else 0, "output": " ".join(arguments)}
        if not singleplex:
            response["requestId"] = request.get("requestId", 0)
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
