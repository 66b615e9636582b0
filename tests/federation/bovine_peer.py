#!/usr/bin/env python3
"""A bovine-based ActivityPub peer for Skillreel's interoperability test.

Run with the bovine venv's interpreter:

    ~/.cache/bovine-venv/bin/python peer.py --port 8931 \
        --target http://127.0.0.1:8080 --out events.jsonl [--like OBJECT_ID] [--linger 30]

It serves, on http://127.0.0.1:PORT (or --public-url):

    GET  /actor                  the peer's actor (a Service, RSA publicKey, inbox)
    POST /inbox                  verified with bovine's HTTP-signature checker
    GET  /outbox, /followers, /following   empty collections
    GET  /activities/{uuid}      the activities this peer sent (so their ids resolve)
    GET  /.well-known/webfinger  acct:peer@HOST -> /actor

and then, as a client, using bovine throughout:

    1. resolves the target by WebFinger (acct:{host}@{host}), fetches its actor
    2. POSTs a signed Follow of that actor to its sharedInbox (or inbox)
    3. waits for an Accept of that Follow, arriving at /inbox with a valid signature
    4. with --like, POSTs a signed Like of OBJECT_ID
    5. with --linger S, keeps serving S more seconds (e.g. for Create/Announce);
       S < 0 serves until SIGINT/SIGTERM.

Every step is one JSON line in --out (see NOTES.md for the event names). Exit
status: 0 ok, 2 no Accept in time, 3 WebFinger/actor lookup failed, 4 the Follow
was refused, 5 the Like was refused, 6 a Reject arrived instead of an Accept.

What is bovine's and what is glue:
  * keys:       bovine.crypto.generate_rsa_public_private_key
  * actor doc:  bovine.activitystreams.Actor(...).build()
  * activities: bovine.activitystreams.activity_factory.ActivityFactory.follow/like
  * WebFinger:  bovine.clients.lookup_uri_with_webfinger
  * signing:    bovine.BovineActor (SignedHttpClient: draft-cavage, rsa-sha256)
  * verifying:  bovine.crypto.build_validate_http_signature_raw + a key retriever
                returning bovine.crypto.types.CryptographicIdentifier
  Glue (ours): the aiohttp routes, the key retriever's fetch-and-check, matching
  the Accept to the Follow, the JSON-lines log, the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
import uuid
from urllib.parse import urldefrag, urlparse

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization

import bovine
import bovine.clients.utils
from bovine import BovineActor
from bovine.activitystreams import Actor, OrderedCollection
from bovine.activitystreams.activity_factory import ActivityFactory
from bovine.clients import lookup_uri_with_webfinger
from bovine.clients.signed_http import legacy_digest_method_uppercase
from bovine.crypto import build_validate_http_signature_raw, generate_rsa_public_private_key
from bovine.crypto.types import CryptographicIdentifier
from bovine.types import Visibility
from bovine.utils import webfinger_response_json

log = logging.getLogger("bovine_peer")

ACTIVITY_JSON = "application/activity+json"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


# --------------------------------------------------------------------------- events


class EventLog:
    """Appends one JSON object per line to the --out file (flushed each time)."""

    def __init__(self, path: str):
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")

    def write(self, event: str, **fields) -> None:
        record = {"ts": time.time(), "event": event, **fields}
        self._fh.write(json.dumps(record, sort_keys=True) + "\n")
        self._fh.flush()
        log.info("%s %s", event, json.dumps(fields)[:300])

    def close(self) -> None:
        self._fh.close()


# --------------------------------------------------------------------------- keys


def load_or_make_key(path: str | None) -> tuple[str, str]:
    """(public SPKI PEM, private PKCS#8 PEM). Generated with bovine; kept in `path`
    when given, so a restarted peer keeps its key (our side caches keys)."""
    if path and os.path.exists(path):
        with open(path, "rb") as fh:
            private_pem = fh.read()
        key = serialization.load_pem_private_key(private_pem, password=None)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return public_pem.decode(), private_pem.decode()
    public_pem, private_pem = generate_rsa_public_private_key()
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(private_pem)
        os.chmod(path, 0o600)
    return public_pem, private_pem


# --------------------------------------------------------------------------- peer


class Peer:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.base = (args.public_url or f"http://127.0.0.1:{args.port}").rstrip("/")
        self.host = urlparse(self.base).netloc  # host[:port], as Host headers carry it
        self.actor_id = f"{self.base}/actor"
        self.key_id = f"{self.actor_id}#main-key"
        self.inbox_url = f"{self.base}/inbox"
        self.events = EventLog(args.out)
        self.public_pem, self.private_pem = load_or_make_key(args.key)

        # bovine builds the actor document.
        self.actor_doc = Actor(
            id=self.actor_id,
            type="Service",
            name="bovine interop peer",
            preferred_username="peer",
            inbox=self.inbox_url,
            outbox=f"{self.base}/outbox",
            followers=f"{self.base}/followers",
            following=f"{self.base}/following",
            public_key=self.public_pem,
            public_key_name="main-key",
            properties={"endpoints": {"sharedInbox": self.inbox_url}},
        ).build(visibility=Visibility.OWNER)

        # bovine builds the activities; ids must be on our host (Skillreel checks).
        self.factory = ActivityFactory(
            self.actor_doc, id_generator=lambda: f"{self.base}/activities/{uuid.uuid4()}"
        )
        self.sent: dict[str, dict] = {}  # activities we sent, by id (served back)

        self.session: aiohttp.ClientSession | None = None
        self.client: BovineActor | None = None  # bovine's signing client
        self.key_cache: dict[str, CryptographicIdentifier] = {}
        # bovine's verifier: (method, url, headers, body-coroutine) -> controller|None
        self.validate = build_validate_http_signature_raw(self.retrieve_key)

        self.follow_id: str | None = None
        self.target_actor_id: str | None = None
        self.answer = asyncio.Event()
        self.answer_kind: str | None = None

    # ---------------------------------------------------------------- key retriever

    async def retrieve_key(self, key_id: str) -> CryptographicIdentifier | None:
        """Given a keyId, fetch (signed GET, via bovine) the actor document it
        belongs to and return bovine's CryptographicIdentifier for it. Checks the
        same things Skillreel checks: document id == URL fetched, publicKey.id ==
        keyId, publicKey.owner == id, and key/inbox on the same host."""
        if key_id in self.key_cache:
            return self.key_cache[key_id]
        url, _fragment = urldefrag(key_id)
        try:
            response = await self.client.client.get(url)  # bovine signed GET
            status = response.status
            text = await response.text()
        except Exception as e:  # noqa: BLE001
            self.events.write("key_fetch_failed", key_id=key_id, error=repr(e))
            return None
        if status != 200:
            self.events.write("key_fetch_failed", key_id=key_id, status=status, body=text[:500])
            return None
        try:
            doc = json.loads(text)
        except ValueError:
            self.events.write("key_fetch_failed", key_id=key_id, error="not JSON")
            return None

        keys = doc.get("publicKey")
        if isinstance(keys, dict):
            keys = [keys]
        key = next((k for k in keys or [] if isinstance(k, dict) and k.get("id") == key_id), None)
        host = urlparse(url).netloc.lower()
        problems = []
        if doc.get("id") != url:
            problems.append(f"document id {doc.get('id')!r} != fetched {url!r}")
        if key is None:
            problems.append("no publicKey with that id")
        elif key.get("owner") != doc.get("id"):
            problems.append("publicKey.owner != id")
        if urlparse(doc.get("inbox", "")).netloc.lower() != host:
            problems.append("inbox on another host")
        if problems:
            self.events.write("key_rejected", key_id=key_id, problems=problems)
            return None
        identifier = CryptographicIdentifier.from_public_key(key)  # bovine parses the PEM
        self.key_cache[key_id] = identifier
        self.events.write("key_fetched", key_id=key_id, owner=identifier.controller)
        return identifier

    # ---------------------------------------------------------------- server

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/actor", self.get_actor)
        app.router.add_post("/inbox", self.post_inbox)
        app.router.add_get("/outbox", self.get_collection)
        app.router.add_get("/followers", self.get_collection)
        app.router.add_get("/following", self.get_collection)
        app.router.add_get("/activities/{id}", self.get_activity)
        app.router.add_get("/.well-known/webfinger", self.get_webfinger)
        return app

    @staticmethod
    def ap_json(data: dict, status: int = 200) -> web.Response:
        return web.Response(text=json.dumps(data), status=status, content_type=ACTIVITY_JSON)

    async def get_actor(self, request: web.Request) -> web.Response:
        self.events.write("served_actor", signature=request.headers.get("signature"))
        return self.ap_json(self.actor_doc)

    async def get_collection(self, request: web.Request) -> web.Response:
        return self.ap_json(OrderedCollection(id=f"{self.base}{request.path}", count=0).build())

    async def get_activity(self, request: web.Request) -> web.Response:
        activity = self.sent.get(f"{self.base}{request.path}")
        if activity is None:
            return web.json_response({"error": "not found"}, status=404)
        return self.ap_json(activity)

    async def get_webfinger(self, request: web.Request) -> web.Response:
        resource = request.query.get("resource", "")
        if resource not in (f"acct:peer@{self.host}", self.actor_id):
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(
            webfinger_response_json(f"acct:peer@{self.host}", self.actor_id),
            content_type="application/jrd+json",
        )

    async def post_inbox(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}

        async def body() -> bytes:
            return raw

        # bovine verifies: Digest vs body, (request-target)+date covered, digest
        # covered (POST), Date within 5 min, then the RSA signature with the key
        # our retriever returns. It answers the key's controller (owner) or None.
        controller = await self.validate(request.method, str(request.url), headers, body)
        try:
            activity = json.loads(raw)
        except ValueError:
            activity = None
        record = {
            "signature": headers.get("signature"),
            "digest": headers.get("digest"),
            "date": headers.get("date"),
            "activity": activity,
        }
        if controller is None:
            self.events.write("inbox_refused", reason="bovine could not verify the signature", **record)
            return web.json_response({"error": "signature not verified"}, status=401)
        if not isinstance(activity, dict):
            self.events.write("inbox_refused", reason="not a JSON object", signer=controller, **record)
            return web.json_response({"error": "not a JSON object"}, status=400)
        actor = activity.get("actor")
        actor = actor.get("id") if isinstance(actor, dict) else actor
        if actor != controller:
            self.events.write("inbox_refused", reason="actor is not the signer", signer=controller, **record)
            return web.json_response({"error": "actor is not the signer"}, status=401)

        self.events.write("received", verified=True, signer=controller, type=activity.get("type"), **record)
        self.match_answer(activity)
        return web.Response(status=202)

    def match_answer(self, activity: dict) -> None:
        kind = activity.get("type")
        if kind not in ("Accept", "Reject") or self.follow_id is None:
            return
        obj = activity.get("object")
        if isinstance(obj, str):
            ours = obj == self.follow_id
        elif isinstance(obj, dict):
            obj_actor = obj.get("actor")
            obj_actor = obj_actor.get("id") if isinstance(obj_actor, dict) else obj_actor
            ours = obj.get("id") == self.follow_id or (
                obj.get("type") == "Follow" and obj_actor == self.actor_id
            )
        else:
            ours = False
        if ours and activity.get("actor") == self.target_actor_id:
            self.answer_kind = kind
            self.events.write(kind.lower(), follow_id=self.follow_id, activity_id=activity.get("id"))
            self.answer.set()

    # ---------------------------------------------------------------- client

    async def send(self, inbox: str, activity: dict) -> tuple[int, str]:
        self.sent[activity["id"]] = activity
        # bovine's SignedHttpClient.post: signs (request-target) host date digest
        # content-type, rsa-sha256; returns the aiohttp response (no raise, so the
        # receiver's problem document can be logged). 599 = could not connect.
        try:
            response = await self.client.client.post(inbox, json.dumps(activity))
            text = await response.text()
        except aiohttp.ClientError as e:
            return 599, repr(e)
        return response.status, text

    async def run_client(self) -> int:
        target = self.args.target.rstrip("/")
        target_host = urlparse(target).netloc
        resource = f"acct:{target_host}@{target_host}"
        try:
            # Passing domain with a scheme makes bovine use it as is (http://
            # allowed); a bare host would make it try https:// first.
            actor_url, _verify = await lookup_uri_with_webfinger(self.session, resource, domain=target)
        except Exception as e:  # noqa: BLE001
            self.events.write("webfinger_failed", resource=resource, error=repr(e))
            return 3
        self.events.write("webfinger", resource=resource, actor=actor_url)
        if not actor_url:
            return 3
        try:
            target_actor = await self.client.get(actor_url)  # bovine signed GET
        except Exception as e:  # noqa: BLE001
            self.events.write("actor_fetch_failed", actor=actor_url, error=repr(e))
            return 3
        self.target_actor_id = target_actor.get("id")
        inbox = (target_actor.get("endpoints") or {}).get("sharedInbox") or target_actor.get("inbox")
        self.events.write("target_actor", id=self.target_actor_id, type=target_actor.get("type"), inbox=inbox)
        if not inbox or target_actor.get("type") == "Tombstone":  # bovine maps 404/410 to a Tombstone
            return 3

        follow = self.factory.follow(self.target_actor_id).build()
        self.follow_id = follow["id"]
        status, text = await self.send(inbox, follow)
        self.events.write("follow_sent", status=status, response=text[:1000], activity=follow)
        if status >= 300:
            return 4

        try:
            await asyncio.wait_for(self.answer.wait(), timeout=self.args.timeout)
        except asyncio.TimeoutError:
            self.events.write("accept_timeout", seconds=self.args.timeout, follow_id=self.follow_id)
            return 2
        if self.answer_kind != "Accept":
            return 6

        if self.args.like:
            # Signed fetch of the object first (informational: shows whether
            # bovine's signed GET is accepted by the target's authorized fetch).
            try:
                response = await self.client.client.get(self.args.like)
                self.events.write("object_fetched", id=self.args.like, status=response.status,
                                  body=(await response.text())[:2000])
            except Exception as e:  # noqa: BLE001
                self.events.write("object_fetched", id=self.args.like, error=repr(e))
            like = self.factory.like(self.args.like, to={self.target_actor_id}).build()
            status, text = await self.send(inbox, like)
            self.events.write("like_sent", status=status, response=text[:1000], activity=like)
            if status >= 300:
                return 5
        return 0

    # ---------------------------------------------------------------- main

    async def main(self) -> int:
        self.session = aiohttp.ClientSession()
        self.client = BovineActor(
            actor_id=self.actor_id,
            public_key_url=self.key_id,
            secret=self.private_pem,
            # "SHA-256=" as Skillreel writes it; bovine's default is "sha-256=".
            digest_method=legacy_digest_method_uppercase,
        )
        await self.client.init(session=self.session)

        runner = web.AppRunner(self.app(), access_log=log)
        await runner.setup()
        site = web.TCPSite(runner, self.args.bind, self.args.port)
        await site.start()
        self.events.write("listening", actor=self.actor_id, key_id=self.key_id, inbox=self.inbox_url,
                          bovine=bovine.clients.utils.BOVINE_CLIENT_NAME)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        code = 0
        try:
            if self.args.serve_only:
                await stop.wait()
            else:
                client = asyncio.create_task(self.run_client())
                await asyncio.wait([client, asyncio.create_task(stop.wait())],
                                   return_when=asyncio.FIRST_COMPLETED)
                code = client.result() if client.done() else 130
                if not client.done():
                    client.cancel()
                if self.args.linger and not stop.is_set():
                    self.events.write("lingering", seconds=self.args.linger)
                    try:
                        await asyncio.wait_for(stop.wait(),
                                               None if self.args.linger < 0 else self.args.linger)
                    except asyncio.TimeoutError:
                        pass
        finally:
            self.events.write("exit", code=code)
            await runner.cleanup()
            await self.session.close()
            self.events.close()
        return code


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True, help="port to serve the actor and inbox on")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--public-url", help="this peer's origin (default http://127.0.0.1:PORT)")
    p.add_argument("--target", help="the instance to follow, e.g. http://127.0.0.1:8080")
    p.add_argument("--out", required=True, help="JSON-lines event file (appended)")
    p.add_argument("--like", metavar="OBJECT_ID", help="after the Accept, send a Like of this object")
    p.add_argument("--key", help="PEM file for the private key (created if absent)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the Accept")
    p.add_argument("--linger", type=float, default=0.0,
                   help="seconds to keep serving after the client steps (<0: until signalled)")
    p.add_argument("--serve-only", action="store_true", help="only serve; do not follow anyone")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if not args.serve_only and not args.target:
        p.error("--target is required unless --serve-only")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    return asyncio.run(Peer(args).main())


if __name__ == "__main__":
    sys.exit(main())
