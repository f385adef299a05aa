"""Video processing from the product brief: a bigger machine and a long max_duration."""

from __future__ import annotations

import time

from pydantic import BaseModel

from tether import logger, task


class Video(BaseModel):
    video_id: str


@task(id="process-video", machine="small-2x", max_duration=1800)
def process_video(payload: Video) -> dict:
    for stage in ("transcoding", "thumbnails", "uploading"):
        logger.info("%s: %s", payload.video_id, stage)
        time.sleep(0.5)
    return {"url": f"https://cdn.example.com/videos/{payload.video_id}.mp4"}
