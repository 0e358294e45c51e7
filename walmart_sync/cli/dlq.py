"""``walmart-sync dlq list|show|replay <worker>``: dead letters for support staff."""

from __future__ import annotations

import argparse
import json
import sys

from config.components import WORKERS
from walmart_sync.cli.common import EXIT_FAILED, EXIT_OK, settings_from

name = "dlq"


def add_parser(commands: argparse._SubParsersAction) -> None:
    dlq = commands.add_parser("dlq", help="inspect and replay dead-lettered records")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    dlq_list = dlq_sub.add_parser("list", help="list a worker's dead letters")
    dlq_list.add_argument("worker", choices=WORKERS)
    dlq_list.add_argument("--limit", type=int, default=100)
    dlq_list.add_argument("--json", action="store_true")
    dlq_show = dlq_sub.add_parser("show", help="show one dead letter with its headers and value")
    dlq_show.add_argument("worker", choices=WORKERS)
    dlq_show.add_argument("offset", type=int)
    dlq_show.add_argument("--partition", type=int, default=0)
    dlq_replay = dlq_sub.add_parser("replay", help="send dead letters back to their source topic")
    dlq_replay.add_argument("worker", choices=WORKERS)
    dlq_replay.add_argument("offsets", type=int, nargs="*", help="offsets to replay (default: all)")
    dlq_replay.add_argument("--force", action="store_true", help="replay letters replayed before too")


def run(args: argparse.Namespace) -> int:
    from sync_workers.runtime import dlq

    settings = settings_from(args, default_level="warning")
    letters = dlq.read_letters(settings, args.worker)
    if args.dlq_command == "list":
        rows = [letter.summary() for letter in letters[:args.limit]]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print(f"{len(letters)} dead letter(s) for the {args.worker} worker")
            for row in rows:
                print(f"  {row['partition']}@{row['offset']}  {row['failed_at']}  {row['error_code'] or '-'}  "
                      f"{row['source']}  key={row['key']}  {row['reason']}")
        return EXIT_OK
    if args.dlq_command == "show":
        found = [x for x in letters if x.offset == args.offset and x.partition == args.partition]
        if not found:
            print(f"no dead letter at {args.partition}@{args.offset}", file=sys.stderr)
            return EXIT_FAILED
        print(dlq.show(found[0]))
        return EXIT_OK
    chosen = [x for x in letters if not args.offsets or x.offset in args.offsets]
    replayed, skipped = dlq.replay(settings, args.worker, chosen, force=args.force)
    print(f"replayed {replayed}, skipped {skipped} already replayed (use --force to repeat)")
    return EXIT_OK
