"""Re-sends `demand.received` for demands nothing has happened to: the reconciler.

The outbox guarantees an accepted demand's event reaches the broker, not that classification
ever reads it: a broker that loses its topics (the embedded tansu keeps them in memory), a
record past retention or dead-lettered leaves the demand `received` for ever. Every
`redeliver_interval_s` this loop finds demands still `received` (no status from classification
or routing) for longer than `redeliver_after_s` whose event was last published longer than
that ago, and marks that event's outbox row unpublished again: the relay sends the same bytes,
with the SAME event id, so a classification that did process it drops the copy in its inbox
(consumer, event id). A demand is re-sent at most once per `redeliver_after_s`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Unpack

import structlog

from services.intake import repository
from services.runtime.sweeper import BatchSweeper, SweeperOptions

log = structlog.get_logger(__name__)


class DemandRedeliverer(BatchSweeper):
    metric = "liandong_demands_redelivered"
    description = (
        "Demands whose demand.received event this process re-sent, still `received` "
        "after LIANDONG_INTAKE_REDELIVER_AFTER_S (lost or dead-lettered on the way to "
        "classification)"
    )
    failure = "demand redelivery failed, will retry"

    def __init__(self, *, after_s: float, **options: Unpack[SweeperOptions]) -> None:
        super().__init__(**options)
        self.after = timedelta(seconds=after_s)

    @property
    def redelivered_total(self) -> int:
        """Demands whose event this process re-sent."""
        return self.swept_total

    async def sweep_once(self) -> int:
        """Re-send the due demands' events (up to a batch); how many."""
        cutoff = self.clock.now() - self.after
        async with self.sessions() as session, session.begin():
            resent = await repository.mark_stale_events_unpublished(
                session, self.outbox.table, cutoff=cutoff, limit=self.batch_size
            )
        if resent:
            self.swept_total += len(resent)
            self.outbox.notify()
            for demand_id, event_id in resent:  # ids only: text and citizen stay out of the log
                log.warning(
                    "demand.received re-sent: no status since",
                    demand_id=demand_id,
                    event_id=str(event_id),
                    after_s=self.after.total_seconds(),
                )
        return len(resent)
