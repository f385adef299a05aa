"""Per-tenant sync from the product brief: a queue per shop, runs for one shop serialized, retries made safe,
and a schedule per shop attached at run time:

    schedules.create(task="shopify-scheduled-sync", cron="*/30 * * * *", timezone="Europe/Berlin",
                     external_id="shop_42", deduplication_key="shopify-sync-shop_42")
"""

from __future__ import annotations

import random
import time

from pydantic import BaseModel

from tether import Retry, logger, queue, schedules, task

shopify = queue("shopify", concurrency_limit=10, concurrency_key_limit=1)


class ShopSync(BaseModel):
    shop_id: str
    since: str | None = None


@task(id="sync-shopify-orders", queue=shopify, retry=Retry(max_attempts=4, factor=2, min_timeout=1, max_timeout=20))
def sync_shopify_orders(payload: ShopSync) -> dict:
    """Trigger with `concurrency_key=shop_id` so one shop's syncs never overlap (the vendor's rate limit)."""
    pages = random.randint(1, 4)
    for page in range(1, pages + 1):
        logger.info("shop %s: fetched page %d/%d", payload.shop_id, page, pages)
        time.sleep(0.2)
    return {"shopId": payload.shop_id, "pages": pages, "orders": pages * 50}


@schedules.task(id="shopify-scheduled-sync")
def shopify_scheduled_sync(payload: schedules.ScheduledPayload) -> dict:
    """One shop's schedule fires this; the sync itself runs in the shop's lane of the shopify queue."""
    if not payload.external_id:
        raise ValueError("attach this task's schedules with external_id=<the shop's id>")
    since = payload.last_timestamp.isoformat() if payload.last_timestamp else None
    handle = sync_shopify_orders.trigger(ShopSync(shop_id=payload.external_id, since=since), concurrency_key=payload.external_id)
    return {"shopId": payload.external_id, "syncRun": handle.id}
