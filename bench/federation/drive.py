"""Drives bench/federation against a running catalog (release build) on its own database.

Usage: drive.py CATALOG_URL DATABASE_URL ADMIN_TOKEN FOLLOWERS INBOUND CONCURRENCY

1. Fan-out: FOLLOWERS follower instances (one receiver process here, one inbox path
   and one `host` per instance, each a separate delivery target as far as the catalog
   is concerned) are recorded as accepted followers; one video is published
   `federated`; every inbox must receive its Create and its Announce. Reports
   deliveries per second and the time from publish to each delivery (p50, p99).
2. Inbound: INBOUND Follow activities, signed (draft-cavage, rsa-sha256 over
   `(request-target) host date digest`) by 50 remote actors served here, posted with
   CONCURRENCY connections; each is verified (signature, digest, date, replay, key
   fetched once per actor then cached) and applied (the follower recorded, an Accept
   queued). Reports activities per second and latency percentiles.
"""
import asyncio
import base64
import email.utils
import hashlib
import json
import statistics
import subprocess
import sys
import time
import uuid

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CATALOG, DATABASE, ADMIN, FOLLOWERS, INBOUND, CONCURRENCY = sys.argv[1:7]
FOLLOWERS, INBOUND, CONCURRENCY = int(FOLLOWERS), int(INBOUND), int(CONCURRENCY)
ACTORS = 50


def psql(sql):
    out = subprocess.run(["psql", DATABASE, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


class Receiver:
    """Inboxes of the follower instances, and the documents of the remote actors."""

    def __init__(self, port):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.arrivals = []  # (monotonic time, inbox index, activity type)
        self.keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(ACTORS)]
        self.pems = [k.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()
                     for k in self.keys]

    def actor(self, n):
        return f"{self.base}/actors/{n}"

    async def inbox(self, request):
        body = await request.read()
        kind = json.loads(body).get("type") if body else None
        self.arrivals.append((time.monotonic(), int(request.match_info["n"]), kind))
        return web.Response(status=202)

    async def actor_document(self, request):
        n = int(request.match_info["n"])
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor(n), "type": "Service", "inbox": f"{self.base}/inbox/{n}",
            "publicKey": {"id": f"{self.actor(n)}#main-key", "owner": self.actor(n), "publicKeyPem": self.pems[n]},
        }
        return web.json_response(doc, content_type="application/activity+json")

    async def start(self):
        app = web.Application()
        app.router.add_post("/inbox/{n}", self.inbox)
        app.router.add_get("/actors/{n}", self.actor_document)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()

    def signed(self, n, url, body):
        """Headers that sign a POST of `body` to `url` as actor `n`."""
        target = url.split("://", 1)[1]
        host, path = target.split("/", 1)
        date = email.utils.formatdate(usegmt=True)
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        string = f"(request-target): post /{path}\nhost: {host}\ndate: {date}\ndigest: {digest}"
        signature = base64.b64encode(self.keys[n].sign(string.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        return {
            "date": date, "digest": digest, "content-type": "application/activity+json",
            "signature": f'keyId="{self.actor(n)}#main-key",algorithm="rsa-sha256",'
                         f'headers="(request-target) host date digest",signature="{signature}"',
        }


async def fan_out(session, receiver, catalog_host):
    # The followers: distinct instances, all served by the receiver.
    rows = []
    for i in range(FOLLOWERS):
        host = f"follower-{i}.bench"
        rows.append(f"('{host}', '{receiver.base}/followers/{i}', '{receiver.base}/inbox/{i}')")
    values = ",\n".join(rows)
    psql(f"""
      with f(host, actor, inbox) as (values {values}),
      i as (insert into federation_instance (host, status) select host, 'allowed' from f),
      a as (insert into federation_actor (id, host, kind, inbox, key_id, public_key_pem)
            select actor, host, 'Application', inbox, actor || '#main-key', 'unused' from f)
      insert into federation_follow (direction, host, actor, activity_id, state)
      select 'incoming', host, actor, actor || '/follow', 'accepted' from f
    """)
    owner = psql("select id from app_user where subject = 'bench-admin'")
    video = str(uuid.uuid4())
    psql(f"""insert into video (id, owner_id, title, status, hls_key, thumbnail_key, duration_ms, width, height)
             values ('{video}', '{owner}', 'Fan-out', 'ready', 'videos/{video}/media/master.m3u8',
                     'videos/{video}/media/thumbnail.jpg', 60000, 1280, 720)""")
    want = 2 * FOLLOWERS
    start = time.monotonic()
    async with session.post(f"{CATALOG}/api/v1/videos/{video}/publish", json={"visibility": "federated"},
                            headers={"Authorization": f"Bearer {ADMIN}"}) as r:
        assert r.status == 200, await r.text()
    while len(receiver.arrivals) < want and time.monotonic() - start < 600:
        await asyncio.sleep(0.05)
    arrivals = list(receiver.arrivals)
    assert len(arrivals) >= want, f"only {len(arrivals)} of {want} deliveries arrived"
    latencies = [(t - start) * 1000 for t, _, _ in arrivals]
    elapsed = max(t for t, _, _ in arrivals) - start
    per_inbox = {}
    for _, n, kind in arrivals:
        per_inbox.setdefault(n, set()).add(kind)
    assert all(kinds == {"Create", "Announce"} for kinds in per_inbox.values()) and len(per_inbox) == FOLLOWERS
    return {
        "followers": FOLLOWERS, "deliveries": len(arrivals), "seconds": round(elapsed, 2),
        "deliveries_per_second": round(len(arrivals) / elapsed, 1),
        "publish_to_delivery_ms_p50": round(percentile(latencies, 50), 1),
        "publish_to_delivery_ms_p99": round(percentile(latencies, 99), 1),
    }


async def inbound(session, receiver, catalog_host):
    inbox = f"{CATALOG}/federation/inbox"
    target = f"{CATALOG}/federation/actor"
    # Pre-sign everything (the driver's signing must not be what is measured).
    requests = []
    for k in range(INBOUND):
        n = k % ACTORS
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams",
                           "id": f"{receiver.base}/activities/{uuid.uuid4()}", "type": "Follow",
                           "actor": receiver.actor(n), "object": target}).encode()
        requests.append((receiver.signed(n, inbox, body), body))
    # Warm: each actor's key is fetched once, then cached (what steady traffic sees).
    warm, requests = requests[:ACTORS], requests[ACTORS:]
    for headers, body in warm:
        async with session.post(inbox, data=body, headers=headers) as r:
            assert r.status == 202, f"{r.status} {await r.text()}"
    latencies, statuses = [], {}
    queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    async def worker():
        while not queue.empty():
            headers, body = queue.get_nowait()
            t = time.monotonic()
            async with session.post(inbox, data=body, headers=headers) as r:
                await r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
            latencies.append((time.monotonic() - t) * 1000)

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.monotonic() - start
    assert statuses == {202: len(requests)}, statuses
    return {
        "activities": len(requests), "concurrency": CONCURRENCY, "seconds": round(elapsed, 2),
        "activities_per_second": round(len(requests) / elapsed, 1),
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p99": round(percentile(latencies, 99), 1),
    }


async def main():
    port = int(subprocess.run([sys.executable, "-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"],
                              check=True, capture_output=True, text=True).stdout)
    receiver = Receiver(port)
    await receiver.start()
    catalog_host = CATALOG.split("://", 1)[1]
    connector = aiohttp.TCPConnector(limit=CONCURRENCY + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(f"{CATALOG}/api/v1/me", headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            assert r.status == 200
        out = {"fan_out": await fan_out(session, receiver, catalog_host)}
        async with session.put(f"{CATALOG}/api/v1/admin/federation/instances/127.0.0.1:{port}",
                               json={"status": "allowed"}, headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            assert r.status == 200, await r.text()
        out["inbound"] = await inbound(session, receiver, catalog_host)
    print(json.dumps(out, indent=2))


asyncio.run(main())
