"""Runs Ralph (PyPI `ralph-malph`, an xAPI LRS) with its file-system backend, for the
tests: a real LRS that validates, stores and answers `GET /xAPI/statements`.

Usage: ralph_server.py PORT DATA_DIR USERNAME PASSWORD

Binds 127.0.0.1:PORT; statements go to DATA_DIR/statements/fs_lrs.jsonl and survive a
restart on the same DATA_DIR. Ready when `GET /__heartbeat__` answers 200.

One change to Ralph 5.1.0: its file-system LRS backend writes in "create" mode, so
every write after the one that created its file fails (500 "Statements bulk
indexation failed"); it is switched to append, which is what an LRS does. Ralph is
started with uvicorn directly because `ralph runserver` also watches the working
directory for changes.
"""
import json
import os
import sys

port, data_dir, username, password = sys.argv[1:5]
data_dir = os.path.abspath(data_dir)
os.makedirs(os.path.join(data_dir, "statements"), exist_ok=True)
os.environ.update({
    "RALPH_RUNSERVER_BACKEND": "fs",
    "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": os.path.join(data_dir, "statements"),
    "RALPH_AUTH_FILE": os.path.join(data_dir, "auth.json"),
    "RALPH_HISTORY_FILE": os.path.join(data_dir, "history.json"),
    "RALPH_APP_DIR": data_dir,
    "RALPH_RUNSERVER_AUTH_BACKENDS": "basic",
})
os.environ.pop("RALPH_SENTRY_DSN", None)
os.chdir(data_dir)

import bcrypt  # noqa: E402  (Ralph's own dependency)

with open(os.environ["RALPH_AUTH_FILE"], "w") as f:
    json.dump([{
        "agent": {"objectType": "Agent", "name": "Skillreel",
                  "account": {"homePage": "https://skillreel.dev", "name": username}},
        "scopes": ["all"],
        "hash": bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode("ascii"),
        "username": username,
    }], f)

import uvicorn  # noqa: E402
from ralph.backends.data.base import BaseOperationType  # noqa: E402
from ralph.backends.lrs.fs import FSLRSBackend  # noqa: E402

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

from ralph.api import app  # noqa: E402  (after the change above)

uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
