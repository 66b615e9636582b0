#!/usr/bin/env python3
"""Uploads a file to Skillreel with tuspy, an independent tus 1.0 client.

Resumable across runs: the upload URL is remembered in --state (tuspy's FileStorage,
keyed by the file's fingerprint). --stop-after N ends the process abruptly after N
chunks, as a killed client would. Prints the upload URL on the last line.
"""
import argparse
import os
import sys

from tusclient import client
from tusclient.storage import filestorage


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--chunk-size", type=int, default=5 * 1000 * 1000)
    p.add_argument("--title", default="Uploaded with tuspy")
    p.add_argument("--stop-after", type=int, default=0)
    p.add_argument("--url", help="resume this upload URL instead of the remembered one")
    args = p.parse_args()

    tus = client.TusClient(args.endpoint, headers={"Authorization": f"Bearer {args.token}"})
    storage = filestorage.FileStorage(args.state)
    uploader = tus.uploader(
        file_path=args.file,
        url=args.url,
        chunk_size=args.chunk_size,
        metadata={"title": args.title, "filename": os.path.basename(args.file), "filetype": "video/mp4"},
        store_url=True,
        url_storage=storage,
        upload_checksum=True,
    )
    print(f"starting at offset {uploader.offset}", file=sys.stderr)
    chunks = 0
    while uploader.offset < uploader.get_file_size():
        uploader.upload_chunk()
        chunks += 1
        if args.stop_after and chunks >= args.stop_after:
            print(uploader.url, flush=True)
            os._exit(3)
    print(uploader.url, flush=True)


if __name__ == "__main__":
    main()
