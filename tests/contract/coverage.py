"""Fails unless every operation of the OpenAPI document answered 2xx at least once in
the schemathesis run (its HAR report): a contract test that never reaches an
operation's success proves little about it.

Usage: coverage.py OPENAPI_JSON HAR_JSON
"""
import json
import re
import sys
import urllib.parse

document = json.load(open(sys.argv[1]))
har = json.load(open(sys.argv[2]))

operations = []
for template, item in document["paths"].items():
    pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
    if template.endswith("{path}"):
        pattern = re.compile("^" + re.escape(template[: -len("{path}")]).replace(r"\{video_id\}", "[^/]+").replace(r"\{token\}", "[^/]+") + ".+$")
    for method in item:
        operations.append((method.upper(), template, pattern))

statuses = {(m, t): set() for m, t, _ in operations}
for entry in har["log"]["entries"]:
    method = entry["request"]["method"].upper()
    path = urllib.parse.unquote(urllib.parse.urlparse(entry["request"]["url"]).path)
    # The most specific template wins (`/uploads/direct` before `/uploads/{id}`).
    matches = [(m, t) for m, t, p in operations if m == method and p.match(path)]
    matches.sort(key=lambda mt: mt[1].count("{"))
    if matches:
        statuses[matches[0]].add(entry["response"]["status"])

missing = [f"{m} {t} (saw {sorted(s) or 'nothing'})" for (m, t), s in sorted(statuses.items()) if not any(200 <= c < 300 for c in s)]
reached = len(statuses) - len(missing)
print(f"contract coverage: {reached} of {len(statuses)} operations answered 2xx at least once")
for line in missing:
    print(f"  never 2xx: {line}")
sys.exit(1 if missing else 0)
