"""Evaluates "for you" through the real endpoint against random, most popular and
implicit's ALS, on the data set prepare.py wrote and the catalog serves.

Usage: evaluate.py DATA_DIR BASE_URL SECRET NAME > result.json

For each person with a held-out like: their top 10 from GET /api/v1/me/recommendations
(as themselves, with a development token), and each baseline's top 10 from the same
likes (what the person liked excluded, as the endpoint does). recall@10 is the share of
people whose held-out video is in their 10 (one held out each), nDCG@10 its
1/log2(rank + 1) averaged. Also the endpoint's latency (p50, p99) over these requests.
"""
import base64
import csv
import hashlib
import hmac
import json
import math
import os
import random
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

DATA, BASE, SECRET, NAME = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4]
K = 10


def rows(name):
    with open(os.path.join(DATA, name + ".csv")) as f:
        return list(csv.DictReader(f))


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub, team):
    now = int(time.time())
    claims = {"sub": sub, "name": sub, "roles": ["employee"], "team": team or None,
              "exp": now + 4 * 3600, "iat": now, "iss": "skillreel-dev", "aud": "skillreel"}
    head = b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    body = b64(json.dumps(claims).encode())
    return f"{head}.{body}.{b64(hmac.new(SECRET, f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


users = {u["id"]: u for u in rows("users")}
videos = [v["id"] for v in rows("videos")]
owner = {v["id"]: v["owner_id"] for v in rows("videos")}
likes = rows("likes")
heldout = rows("heldout")
index = {v: i for i, v in enumerate(videos)}
people = sorted(users)
pindex = {p: i for i, p in enumerate(people)}
liked = {}
for l in likes:
    liked.setdefault(l["user_id"], set()).add(l["video_id"])


def endpoint(h):
    user = users[h["user_id"]]
    req = urllib.request.Request(f"{BASE}/api/v1/me/recommendations?limit={K}",
                                 headers={"Authorization": "Bearer " + token(user["subject"], user["team"])})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        page = json.load(r)
    took = time.perf_counter() - started
    return [i["item"]["id"] for i in page["items"]], took


# warm the people in (their first request provisions them), then measure
with ThreadPoolExecutor(8) as pool:
    list(pool.map(endpoint, heldout))
    answers = list(pool.map(endpoint, heldout))
latencies = sorted(t for _, t in answers)

counts = np.zeros(len(videos))
for l in likes:
    counts[index[l["video_id"]]] += 1
popular = list(np.argsort(-counts, kind="stable"))
rng = random.Random(11)


def top_excluding(order, person):
    seen = liked.get(person, set())
    out = []
    for i in order:
        v = videos[i]
        if v not in seen and owner[v] != person:
            out.append(v)
            if len(out) == K:
                break
    return out


def als_lists():
    from implicit.als import AlternatingLeastSquares
    r = [pindex[l["user_id"]] for l in likes]
    c = [index[l["video_id"]] for l in likes]
    user_items = sp.csr_matrix((np.ones(len(likes), dtype=np.float32), (r, c)), shape=(len(people), len(videos)))
    model = AlternatingLeastSquares(factors=64, regularization=0.05, alpha=2.0, iterations=20, random_state=3)
    model.fit(user_items, show_progress=False)
    out = {}
    for h in heldout:
        u = pindex[h["user_id"]]
        ids, _ = model.recommend(u, user_items[u], N=K + 5, filter_already_liked_items=True)
        out[h["user_id"]] = [v for v in (videos[i] for i in ids) if owner[v] != h["user_id"]][:K]
    return out


als = als_lists()
lists = {
    "skillreel (GET /me/recommendations)": {h["user_id"]: a for h, (a, _) in zip(heldout, answers)},
    "random": {h["user_id"]: top_excluding(rng.sample(range(len(videos)), len(videos)), h["user_id"]) for h in heldout},
    "most popular": {h["user_id"]: top_excluding(popular, h["user_id"]) for h in heldout},
    "implicit ALS (64 factors)": als,
}
result = {"data": NAME, "people": len(heldout), "videos": len(videos), "likes": len(likes), "methods": {}}
for method, recs in lists.items():
    hits, gains = 0, 0.0
    for h in heldout:
        top = recs[h["user_id"]]
        if h["video_id"] in top:
            hits += 1
            gains += 1.0 / math.log2(top.index(h["video_id"]) + 2)
    result["methods"][method] = {"recall@10": hits / len(heldout), "ndcg@10": gains / len(heldout)}
result["latency_ms"] = {"p50": 1000 * latencies[len(latencies) // 2],
                        "p99": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}
json.dump(result, sys.stdout, indent=2)
