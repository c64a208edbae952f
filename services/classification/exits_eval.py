"""`liandong model eval-exits` (`make eval-exits`): of the labelled messages the pipeline sends
to triage on their text, the share left with no exit available — no matter proposed to
classify by hand and no desk exit proposed. Printed, never asserted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from services.classification.category_model import read_examples
from services.classification.exits import propose_exits
from services.classification.route_file import placeholder_unit
from services.classification.routing_model import Route, Router

CHUNK = 512


def exits_of(route: Route, text: str) -> list[str]:
    """The exits the triage item of this route offers the operator, as the queue shows them:
    `classify` when a matter is proposed, then each desk exit the rules propose."""
    offered = ["classify"] if route.matter is not None or route.proposals else []
    return offered + [proposal.exit.value for proposal in propose_exits(text, None)]


def measure(router: Router, texts: Sequence[str]) -> tuple[int, Counter[str], int]:
    """(triaged, exits offered to them, triaged with none) for the texts at no located unit's
    risk: every text is decided at the lists' first community, so only the text decides."""
    unit = placeholder_unit(router.lists)
    triaged, with_none = 0, 0
    offered: Counter[str] = Counter()
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        for text, route in zip(chunk, router.route_many(chunk, [unit] * len(chunk)), strict=True):
            if not route.triage:
                continue
            triaged += 1
            exits = exits_of(route, text)
            offered.update(exits)
            with_none += not exits
    return triaged, offered, with_none


def evaluate_exits(router: Router) -> None:
    texts = [example.text for example in read_examples()]
    triaged, offered, with_none = measure(router, texts)
    print(f"date                {datetime.now(UTC):%Y-%m-%d} · decision {router.version}")
    print(f"labelled messages   {len(texts)}")
    print(f"sent to triage      {triaged} ({triaged / len(texts):.1%}) on their text")
    for name, count in sorted(offered.items()):
        print(f"  exit {name:<13} offered to {count} ({count / max(triaged, 1):.1%})")
    share = with_none / max(triaged, 1)
    print(f"no exit available   {with_none} of {triaged} triaged ({share:.2%})")
