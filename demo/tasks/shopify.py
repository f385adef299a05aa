"""Per-tenant sync from the product brief: a queue per shop, runs for one shop serialized, retries made safe."""

from __future__ import annotations

import random
import time

from pydantic import BaseModel

from tether import Retry, logger, queue, task

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
