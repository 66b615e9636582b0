"""Development tokens (HS256) for the benchmark's people, as `skillreel token` issues
them, without starting a process per person: one line per person, in order.

Usage: tokens.py SECRET LEARNERS TEAMS > tokens.txt
Lines 1..TEAMS are the managers `boss-1..`, then `learner-1..LEARNERS`.
"""
import base64
import hashlib
import hmac
import json
import sys
import time

secret, learners, teams = sys.argv[1].encode(), int(sys.argv[2]), int(sys.argv[3])


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub, roles, manager=None, team=None):
    now = int(time.time())
    claims = {"sub": sub, "name": sub.replace("-", " ").title(), "roles": roles, "manager": manager,
              "team": team, "exp": now + 4 * 3600, "iat": now, "iss": "skillreel-dev", "aud": "skillreel"}
    head = b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


out = sys.stdout
for t in range(1, teams + 1):
    out.write(token(f"boss-{t}", ["manager"], team=f"lead-{t}") + "\n")
for n in range(1, learners + 1):
    t = 1 + (n - 1) % teams
    out.write(token(f"learner-{n}", ["employee"], manager=f"boss-{t}", team=f"team-{t}") + "\n")
