"""The other process of SharedTokenFigures (jmh), through the Python binding. Commands on stdin, one per line:
  open PATH   opens the shared token at PATH (Token.open); answers "ready"
  go          takes CLOCK_MONOTONIC (time.monotonic_ns), cancels the token, answers that time in ns
  rate N      spawns and reaps /bin/true N times, one at a time (session level); answers jobs per second
"""
import sys
import time

import scythe

token = None
with scythe.Supervisor() as sup:
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "open":
            token = scythe.Token.open(arg)
            print("ready", flush=True)
        elif cmd == "go":
            t0 = time.monotonic_ns()
            token.cancel(300)
            print(t0, flush=True)
            token.close()
            token = None
        elif cmd == "rate":
            n = int(arg)
            t0 = time.monotonic_ns()
            for _ in range(n):
                out = sup.spawn(["/bin/true"], containment="session", capture=False).wait()
                if out.kind != "success":
                    sys.exit("/bin/true: " + out.kind)
            print(n / ((time.monotonic_ns() - t0) / 1e9), flush=True)
        else:
            sys.exit("unknown command: " + line)
