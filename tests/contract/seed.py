"""Seeds a running `skillreel dev` for the contract test and prints the schemathesis
configuration that points its operations at the seeded objects.

Usage: seed.py BASE_URL ADMIN_TOKEN ALICE_TOKEN BOB_TOKEN WORK_DIR

What it creates, so every operation can answer 2xx at least once: a community Alice
moderates and Bob joined, a published video of Alice's in it with captions, a question
and an answer, a second video waiting for review, a failed job, a webhook, a tus upload
in progress and a direct upload; journeys (published, a draft, one waiting for review,
one to delete) and assignments to Bob (in team `contract-team`); recommendations to the
admin and the admin following Alice and Bob; content requests to vote on, claim, fulfil
and close; a federation follow of an instance that does not answer, and the two peers
(`SKILLREEL_CONTRACT_PEERS`, started by scripts/contract) that follow this one, one to
accept and one to remove, and the first peer's federated video to like. Paging cursors are real ones, taken from first pages.
"""
import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE, ADMIN, ALICE, BOB, WORK = sys.argv[1:6]


def call(method, path, token, body=None, headers=None, raw=None):
    data = raw
    hdrs = {"Authorization": f"Bearer {token}"}
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
            return r.status, (json.loads(text) if text and r.headers.get_content_type() == "application/json" else None), r.headers
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        raise SystemExit(f"seed: {method} {path} answered {e.code}: {detail}")


def multipart(fields, file_name, file_bytes):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: video/mp4\r\n\r\n".encode() + file_bytes + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(token, title, file_bytes):
    body, content_type = multipart({"title": title, "tags": "contract"}, "clip.mp4", file_bytes)
    _, video, _ = call("POST", "/api/v1/videos", token, raw=body, headers={"Content-Type": content_type})
    return video["id"]


def settle(token, video, want):
    for _ in range(300):
        _, v, _ = call("GET", f"/api/v1/videos/{video}", token)
        if v["status"] in ("ready", "failed"):
            if v["status"] != want:
                raise SystemExit(f"seed: video {video} ended {v['status']}, wanted {want}: {v}")
            return
        time.sleep(0.3)
    raise SystemExit(f"seed: video {video} did not settle")


clip = os.path.join(WORK, "clip.mp4")
subprocess.run(
    ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=15",
     "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p",
     "-c:a", "aac", clip],
    check=True,
)
clip_bytes = open(clip, "rb").read()

people = {name: call("GET", "/api/v1/me", token)[1]["id"] for name, token in (("admin", ADMIN), ("alice", ALICE), ("bob", BOB))}
_, open_community, _ = call("POST", "/api/v1/communities", ALICE, {"name": "Contract", "approval_policy": "none"})
_, reviewed_community, _ = call("POST", "/api/v1/communities", ADMIN, {"name": "Reviewed", "approval_policy": "moderator"})
call("PUT", f"/api/v1/communities/{open_community['id']}/membership", BOB)
call("PUT", f"/api/v1/communities/{reviewed_community['id']}/membership", ALICE)

published = upload(ALICE, "Contract tour", clip_bytes)
second = upload(ALICE, "Second tour", clip_bytes)
unpublished = upload(ALICE, "Not out yet", clip_bytes)
pending = upload(ALICE, "Waiting for review", clip_bytes)
broken = upload(ALICE, "Broken", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(4096))
for video, want in ((published, "ready"), (second, "ready"), (unpublished, "ready"), (pending, "ready"), (broken, "failed")):
    settle(ALICE, video, want)
call("POST", f"/api/v1/videos/{published}/publish", ALICE, {"community": open_community["id"]})
call("POST", f"/api/v1/videos/{second}/publish", ALICE)
call("POST", f"/api/v1/videos/{pending}/publish", ALICE, {"community": reviewed_community["id"]})
call("PUT", f"/api/v1/videos/{published}/captions/en", ALICE,
     raw=b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n", headers={"Content-Type": "text/vtt"})
_, question, _ = call("POST", f"/api/v1/videos/{published}/comments", BOB, {"body": "Why?", "question": True})
_, answer, _ = call("POST", f"/api/v1/videos/{published}/comments", ALICE, {"body": "Because.", "parent_id": question["id"]})
_, doomed_comment, _ = call("POST", f"/api/v1/videos/{published}/comments", ADMIN, {"body": "To be deleted"})
_, jobs, _ = call("GET", "/api/v1/admin/jobs?status=failed", ADMIN)
failed_job = jobs["items"][0]["id"]
_, hook, _ = call("POST", "/api/v1/admin/webhooks", ADMIN, {"url": "http://127.0.0.1:9/hook"})
_, inbox, _ = call("GET", "/api/v1/me/inbox", ALICE)
if not inbox["items"]:
    raise SystemExit("seed: Alice has no notification to mark read")
_, _, tus = call("POST", "/api/v1/uploads", ADMIN, raw=b"", headers={
    "Tus-Resumable": "1.0.0", "Upload-Length": "64",
    "Upload-Metadata": "title " + base64.b64encode(b"Resumable").decode(),
})
tus_id = tus["Location"].rstrip("/").rsplit("/", 1)[-1]
_, _, doomed_tus = call("POST", "/api/v1/uploads", ADMIN, raw=b"", headers={
    "Tus-Resumable": "1.0.0", "Upload-Length": "64",
    "Upload-Metadata": "title " + base64.b64encode(b"Terminated").decode(),
})
doomed_tus_id = doomed_tus["Location"].rstrip("/").rsplit("/", 1)[-1]

# A direct upload with its bytes in the bucket: completing it is left to schemathesis.
_, direct, _ = call("POST", "/api/v1/uploads/direct", ADMIN, {"title": "Direct", "size": len(clip_bytes)})
parts = []
for part in direct["parts"]:
    start = (part["number"] - 1) * direct["part_size"]
    chunk = clip_bytes[start:start + direct["part_size"]]
    put = urllib.request.Request(part["url"], data=chunk, method="PUT")
    with urllib.request.urlopen(put, timeout=60) as r:
        parts.append({"number": part["number"], "etag": r.headers["ETag"]})

# Journeys: two published (one assigned to Bob), a draft to publish, one waiting for
# review in the reviewed community, one to delete; an assignment to withdraw.
def journey(title, **extra):
    _, j, _ = call("POST", "/api/v1/journeys", ALICE, {"title": title, "skills": ["contract"],
                                                     "steps": [{"video_id": published, "note": "Start"}], **extra})
    return j["id"]


tour = journey("Contract journey")
call("POST", f"/api/v1/journeys/{tour}/publish", ALICE)
call("POST", f"/api/v1/journeys/{journey('Second journey')}/publish", ALICE)
doomed_journey = journey("Doomed journey")
draft_journey = journey("Draft journey")
pending_journey = journey("Reviewed journey", community_id=reviewed_community["id"])
call("POST", f"/api/v1/journeys/{pending_journey}/publish", ALICE)
call("POST", f"/api/v1/journeys/{tour}/assignments", ADMIN, {"people": [people["bob"]], "type": "required"})
_, withdrawn, _ = call("POST", f"/api/v1/videos/{second}/assignments", ADMIN,
                       {"people": [people["bob"]], "type": "recommended"})
doomed_assignment = withdrawn["assigned"][0]["id"]

# Recommendations: two colleagues recommend to the admin (whose list pages), the admin
# follows two people.
call("POST", f"/api/v1/videos/{second}/recommendations", ALICE, {"people": [people["admin"]], "message": "Worth it"})
call("POST", f"/api/v1/journeys/{tour}/recommendations", BOB, {"people": [people["admin"]]})
_, recommended, _ = call("GET", "/api/v1/me/recommendations?source=peers", ADMIN)
for person in ("alice", "bob"):
    call("PUT", f"/api/v1/users/{people[person]}/follow", ADMIN)

# Recognition: kudos and a like for Alice, so that her history pages (the reputation
# consumer writes it moments later).
call("POST", f"/api/v1/users/{people['alice']}/kudos", ADMIN, {"message": "Great tour"})
call("PUT", f"/api/v1/videos/{second}/like", BOB)
for _ in range(100):
    _, alice_recognition, _ = call("GET", f"/api/v1/users/{people['alice']}/recognition", ADMIN)
    if len(alice_recognition.get("history", [])) >= 2:
        break
    time.sleep(0.2)
else:
    raise SystemExit(f"seed: Alice's reputation never arrived: {alice_recognition}")

# Content requests: Alice's is voted on, claimed and released; Bob's is for Alice to
# fulfil with her published video (Bob may see it); a third is for closing.
_, wanted, _ = call("POST", "/api/v1/requests", ALICE, {"title": "Contract request", "skills": ["contract"]})
_, fulfillable, _ = call("POST", "/api/v1/requests", BOB, {"title": "Fulfil me"})
_, doomed_request, _ = call("POST", "/api/v1/requests", BOB, {"title": "Close me"})

# The signed playback URL of the published video.
_, shown, _ = call("GET", f"/api/v1/videos/{published}", BOB)
media = shown["playback"]["hls"].split("/api/v1/media/", 1)[1]
media_video, media_token, media_path = media.split("/", 2)


def cursor(path, token):
    _, page, _ = call("GET", path + ("&" if "?" in path else "?") + "limit=1", token)
    return page.get("next_cursor") or ""


cursors = {
    "GET /api/v1/videos": cursor("/api/v1/videos", ADMIN),
    "GET /api/v1/me/videos": cursor("/api/v1/me/videos", ALICE),
    "GET /api/v1/communities": cursor("/api/v1/communities", ADMIN),
    "GET /api/v1/me/inbox": cursor("/api/v1/me/inbox", ALICE),
    "GET /api/v1/journeys": cursor("/api/v1/journeys", ADMIN),
    "GET /api/v1/me/recommendations": cursor("/api/v1/me/recommendations?source=peers", ADMIN),
    "GET /api/v1/me/following": cursor("/api/v1/me/following", ADMIN),
    "GET /api/v1/requests": cursor("/api/v1/requests", ADMIN),
}
history_cursor = cursor(f"/api/v1/users/{people['alice']}/recognition", ADMIN)


def toml(value):
    """A value as TOML (strings, numbers, lists and tables are all it needs)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return json.dumps(value)


def operation(name, **parameters):
    lines = [f"[[operations]]", f'include-name = "{name}"']
    if parameters:
        lines.append(f"parameters = {toml(parameters)}")
    return "\n".join(lines) + "\n"


config = [f'''# Everyone else acts as an admin, who may call every operation.
headers = {{ Authorization = "Bearer {ADMIN}" }}

# "Created resource not found" (ST302) takes an operation pointed at a seeded object by
# this file for one pointed at what a stateful scenario just created, and reports the
# seeded object's 404 (after its own DELETE) against the creating POST: with ids
# supplied here it cannot tell the two apart, so it is off.
[checks.ensure_resource_availability]
enabled = false

# Refusals schemathesis may see for schema-violating data besides its defaults: tus
# answers a wrong protocol version 412, and a declared size over the limits 413.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428", "429"]
''']
POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "429"]


def accepting(name, *extra, why):
    """An operation whose valid-looking requests may still be refused for a reason a
    JSON Schema cannot state; each says why."""
    statuses = ", ".join(json.dumps(s) for s in POSITIVE + list(extra))
    return (f"# {why}\n[[operations]]\ninclude-name = \"{name}\"\n"
            f"checks.positive_data_acceptance.expected-statuses = [{statuses}]\n")


config.append(accepting("POST /api/v1/videos", "413", "415", "422",
                        why="the file must be a video (content sniff, 415; transcoding decides the rest) within the size and quota limits (413); a tag is letters and digits in any script (422)")
              + "# Form data has no types: a field mutated into a number arrives as its digits, which\n"
              + "# is valid text, so such a form may be accepted (201).\n"
              + 'checks.negative_data_rejection.expected-statuses = ["201", "400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428", "429"]\n')
config.append(accepting("POST /api/v1/uploads/direct", "413", "422",
                        why="the size must fit the quota (413); it needs a title, or a filename to take one from, and a tag is letters and digits in any script (422)")
              + "# A tag is letters and digits by the Unicode tables of Rust's standard library, newer than\n"
              + "# those of the Python that checks the pattern: a letter new to Unicode looks invalid to it.\n"
              + 'checks.negative_data_rejection.expected-statuses = ["201", "400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428", "429"]\n')
config.append(accepting("POST /api/v1/uploads", "413",
                        why="the declared size must fit the size limit and the quota"))
config.append(accepting("POST /api/v1/uploads/direct/{id}/complete", "422",
                        why="the parts must be the ones stored, with their ETags, in order"))
config.append(accepting("POST /api/v1/admin/users:import", "422",
                        why="the org chart's rows must hold ids, and managers that exist in it or already"))
config.append(accepting("POST /api/v1/admin/webhooks", "422",
                        why="the URL's host must resolve to an address the egress policy allows"))
config.append(accepting("PUT /api/v1/videos/{id}/captions/{lang}", "422",
                        why="the body must be WebVTT or SRT, which only a parser can check"))
config.append(accepting("POST /api/v1/videos/{id}/comments", "422",
                        why="a reply's parent must be a comment on the same video, and only a top-level comment can be a question"))
for name in ["POST /api/v1/journeys", "PATCH /api/v1/journeys/{id}"]:
    config.append(accepting(name, "422",
                            why="a community must exist and have the owner as a member, `community` visibility needs one, a skill is letters and digits in any script, and each step a published video the owner may see"))
config.append(accepting("PUT /api/v1/journeys/{id}/steps", "422",
                        why="each step must be a published video the editor may see, none twice"))
for name in ["POST /api/v1/journeys/{id}/assignments", "POST /api/v1/videos/{id}/assignments"]:
    config.append(accepting(name, "422",
                            why="the people must exist and may see the item, a team must have members, a due date must be in the future"))
for name in ["POST /api/v1/journeys/{id}/recommendations", "POST /api/v1/videos/{id}/recommendations"]:
    config.append(accepting(name, "422",
                            why="the people must exist, not be the sender, and some may see the item; a team must have members; a message is text without control characters"))
config.append(accepting("PUT /api/v1/users/{id}/follow", "422", why="nobody follows themselves"))
config.append(accepting("POST /api/v1/users/{id}/kudos", "422", why="kudos are for someone else, and say what for in text without control characters"))
config.append(accepting("GET /api/v1/me/recommendations", "422", why="`state` and `cursor` go with source=peers"))
for name in ["POST /api/v1/requests", "PATCH /api/v1/requests/{id}"]:
    config.append(accepting(name, "422", why="a title and details are text without control characters, a skill is letters and digits in any script"))
config.append(accepting("POST /api/v1/requests/{id}/fulfil", "422",
                        why="the video must be a published one of the caller's that the request's author may see"))
config.append(accepting("GET /api/v1/leaderboard", "422",
                        why="`team` goes with scope=team and `community` with scope=community, which needs one; a team board needs a team (the admin is in none)"))
config.append(accepting("GET /api/v1/xapi/statements", "400",
                        why="`agent` must be an xAPI agent in JSON, and `after` a position this server wrote"))
config.append(accepting("POST /api/v1/videos/{id}/progress", "422",
                        why="the position must be within the video's duration (a 2 s clip here)"))
# Opaque tokens a generator cannot forge (a cursor, a signed media path) come from
# the seeded data; everything else is generated.
for name, value in cursors.items():
    if value:
        config.append(operation(name, **{"query.cursor": value}))
video_ops = [
    "GET /api/v1/videos/{id}", "PATCH /api/v1/videos/{id}", "PUT /api/v1/videos/{id}/like",
    "DELETE /api/v1/videos/{id}/like", "POST /api/v1/videos/{id}/views", "POST /api/v1/videos/{id}/flag",
    "GET /api/v1/videos/{id}/comments", "POST /api/v1/videos/{id}/comments", "GET /api/v1/videos/{id}/captions",
    "PUT /api/v1/videos/{id}/captions/{lang}", "DELETE /api/v1/videos/{id}/captions/{lang}",
]
for name in video_ops:
    config.append(operation(name, **{"path.id": published}))
config.append(operation("POST /api/v1/videos/{id}/publish", **{"path.id": unpublished}))
config.append(operation("POST /api/v1/videos/{id}/review", **{"path.id": pending}))
config.append(operation("DELETE /api/v1/videos/{id}", **{"path.id": broken}))
# Alice edits her own answer.
config.append(operation("PATCH /api/v1/comments/{id}", **{"path.id": answer["id"]})
              + f'headers = {{ Authorization = "Bearer {ALICE}" }}\n')
config.append(operation("DELETE /api/v1/comments/{id}", **{"path.id": doomed_comment["id"]}))
config.append(operation("POST /api/v1/comments/{id}/accept", **{"path.id": answer["id"]}))
for name in [
    "GET /api/v1/communities/{id}", "PATCH /api/v1/communities/{id}", "PUT /api/v1/communities/{id}/membership",
    "DELETE /api/v1/communities/{id}/membership", "GET /api/v1/communities/{id}/members",
    "GET /api/v1/communities/{id}/contributors",
]:
    config.append(operation(name, **{"path.id": open_community["id"]}))
for name in ["PUT /api/v1/communities/{id}/moderators/{user_id}", "DELETE /api/v1/communities/{id}/moderators/{user_id}"]:
    config.append(operation(name, **{"path.id": open_community["id"], "path.user_id": people["bob"]}))
config.append(operation("GET /api/v1/users/{id}", **{"path.id": people["alice"]}))
config.append(operation("GET /api/v1/users/{id}/recognition", **{"path.id": people["alice"], "query.cursor": history_cursor}))
for name in ["GET /api/v1/journeys/{id}", "PATCH /api/v1/journeys/{id}", "GET /api/v1/journeys/{id}/assignments",
             "GET /api/v1/journeys/{id}/progress"]:
    config.append(operation(name, **{"path.id": tour}))
config.append(operation("PUT /api/v1/journeys/{id}/steps", **{"path.id": tour, "body.steps": [{"video_id": published}]}))
config.append(operation("POST /api/v1/journeys/{id}/assignments", **{"path.id": tour, "body.people": [people["bob"]]}))
config.append(operation("POST /api/v1/journeys/{id}/publish", **{"path.id": draft_journey}))
config.append(operation("POST /api/v1/journeys/{id}/review", **{"path.id": pending_journey}))
# DELETE /api/v1/journeys/{id} only ever deletes its own seeded journey, so no scenario
# deletes the journeys the other operations are pointed at.
config.append(operation("DELETE /api/v1/journeys/{id}", **{"path.id": doomed_journey}))
config.append(operation("POST /api/v1/videos/{id}/assignments", **{"path.id": second, "body.people": [people["bob"]]}))
config.append(operation("POST /api/v1/videos/{id}/progress", **{"path.id": published}))
config.append(operation("DELETE /api/v1/assignments/{id}", **{"path.id": doomed_assignment}))
config.append(operation("GET /api/v1/teams/{team}/progress", **{"path.team": "contract-team"}))
config.append(operation("POST /api/v1/videos/{id}/recommendations", **{"path.id": second, "body.people": [people["bob"]]}))
config.append(operation("POST /api/v1/journeys/{id}/recommendations", **{"path.id": tour, "body.people": [people["bob"]]}))
config.append(operation("PATCH /api/v1/me/recommendations/{id}", **{"path.id": recommended["items"][0]["id"]}))
for name in ["PUT /api/v1/users/{id}/follow", "DELETE /api/v1/users/{id}/follow"]:
    config.append(operation(name, **{"path.id": people["alice"]}))
config.append(operation("POST /api/v1/me/dismissals", **{"body.video_id": second}))
# Kudos go to Bob (Alice had hers today: a second would be 429).
config.append(operation("POST /api/v1/users/{id}/kudos", **{"path.id": people["bob"]}))
for name in ["GET /api/v1/requests/{id}", "PATCH /api/v1/requests/{id}", "PUT /api/v1/requests/{id}/vote",
             "DELETE /api/v1/requests/{id}/vote", "POST /api/v1/requests/{id}/claim", "DELETE /api/v1/requests/{id}/claim"]:
    config.append(operation(name, **{"path.id": wanted["id"]}))
config.append(operation("DELETE /api/v1/requests/{id}", **{"path.id": doomed_request["id"]}))
config.append(operation("POST /api/v1/requests/{id}/fulfil", **{"path.id": fulfillable["id"], "body.video_id": published})
              + f'headers = {{ Authorization = "Bearer {ALICE}" }}\n')
# Alice reads her own notification.
config.append(operation("POST /api/v1/me/inbox/{id}/read", **{"path.id": inbox["items"][0]["id"]})
              + f'headers = {{ Authorization = "Bearer {ALICE}" }}\n')
config.append(operation("POST /api/v1/admin/jobs/{id}/retry", **{"path.id": failed_job}))
# Federation: a follow to remove (of an instance that never answers), the two peers
# that follow this one (one to accept, one to remove), an instance to allow or block.
status, _, _ = call("POST", "/api/v1/admin/federation/follows", ADMIN, {"instance": "http://127.0.0.1:9"})
assert status == 201, status
peers = os.environ.get("SKILLREEL_CONTRACT_PEERS", "").split()
assert len(peers) == 2, "scripts/contract starts two peers"
config.append(operation("DELETE /api/v1/admin/federation/follows/{host}", **{"path.host": "127.0.0.1:9"}))
config.append(operation("POST /api/v1/admin/federation/followers/{host}/accept", **{"path.host": peers[0]}))
config.append(operation("DELETE /api/v1/admin/federation/followers/{host}", **{"path.host": peers[1]}))
config.append(operation("PUT /api/v1/admin/federation/instances/{host}", **{"path.host": "partner.example"}))
# A partner's video (the first peer's, which this instance follows), among our own.
_, remote, _ = call("GET", "/api/v1/federation/videos", ADMIN)
assert remote and remote["items"], "scripts/contract has the first peer publish a federated video"
config.append(accepting("POST /api/v1/admin/federation/follows", "409", "422",
                        why="the URL must be another instance's, at an address the egress policy allows (422), and not blocked (409)"))
for name in ["DELETE /api/v1/admin/webhooks/{id}", "GET /api/v1/admin/webhooks/{id}/deliveries"]:
    config.append(operation(name, **{"path.id": hook["id"]}))
config.append(operation("HEAD /api/v1/uploads/{id}", **{"path.id": tus_id, "header.Tus-Resumable": "1.0.0"}))
config.append(operation("DELETE /api/v1/uploads/{id}", **{"path.id": doomed_tus_id, "header.Tus-Resumable": "1.0.0"}))
config.append(operation("POST /api/v1/uploads/direct/{id}/complete", **{"path.id": direct["upload_id"], "body.parts": parts}))
for name in ["GET /api/v1/media/{video_id}/{token}/{path}", "HEAD /api/v1/media/{video_id}/{token}/{path}"]:
    config.append(operation(name, **{"path.video_id": media_video, "path.token": media_token, "path.path": media_path}))
config.append(operation("PATCH /api/v1/uploads/{id}", **{"path.id": tus_id, "header.Tus-Resumable": "1.0.0", "header.Upload-Offset": "0"}))
metadata = "title " + base64.b64encode(b"Resumable").decode()
config.append(operation("POST /api/v1/uploads", **{"header.Tus-Resumable": "1.0.0", "header.Upload-Metadata": metadata}))
print("\n".join(config))
print(json.dumps({"seeded": {"published": published, "pending": pending, "failed_job": failed_job}}), file=sys.stderr)
