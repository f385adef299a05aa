// Tether's browser client: follow runs and streams live with a public access token.
// A dependency-free ES module served by every gateway at /realtime/client.js.
//
//   import { triggerTask, subscribeToRun, subscribeToStream } from "https://tether.example.com/realtime/client.js";
//
//   const { id, publicAccessToken } = await triggerTask("research-agent", { question }, { accessToken: triggerToken });
//   subscribeToRun(id, { accessToken: publicAccessToken, onRun: (run) => render(run.status, run.metadata) });
//   subscribeToStream(id, "llm", { accessToken: publicAccessToken, onChunk: (text) => answer.append(text) });
//
// EventSource reconnects by itself and sends the last event id it saw, so a dropped connection
// loses and repeats nothing. A fresh subscription (a reloaded page) gets every chunk from the first.

const TERMINAL = new Set(["COMPLETED", "CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"]);

function baseUrl(options) {
  return (options.baseUrl ?? new URL(import.meta.url).origin).replace(/\/$/, "");
}

function follow(url, accessToken, onData, onEnd, onError) {
  const source = new EventSource(`${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(accessToken)}`);
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      source.close();
    }
  };
  source.onmessage = (event) => {
    if (onData(JSON.parse(event.data), event.lastEventId) === false) {
      close();
      onEnd?.();
    }
  };
  source.addEventListener("end", () => {
    close();
    onEnd?.();
  });
  source.onerror = (error) => {
    // A closed connection is retried by EventSource; an answer like 401/403 closes it for good.
    if (source.readyState === EventSource.CLOSED) {
      closed = true;
      onError?.(error);
    }
  };
  return { close };
}

/** Call onRun(run) at each change of the run, until it ends (then onEnd()). */
export function subscribeToRun(runId, { accessToken, onRun, onEnd, onError, ...options }) {
  const url = `${baseUrl(options)}/realtime/v1/runs/${encodeURIComponent(runId)}`;
  return follow(url, accessToken, (run) => {
    onRun(run);
    return !TERMINAL.has(run.status);
  }, onEnd, onError);
}

/** Call onRun(run) whenever a run with any of the tags changes, new runs included; never ends by itself. */
export function subscribeToRunsWithTag(tags, { accessToken, onRun, onError, ...options }) {
  const list = Array.isArray(tags) ? tags.join(",") : tags;
  const url = `${baseUrl(options)}/realtime/v1/runs?tags=${encodeURIComponent(list)}`;
  return follow(url, accessToken, (run) => void onRun(run), undefined, onError);
}

/** Call onChunk(chunk) for every chunk of the run's stream `key`, from the first, then onEnd() once the run ended. */
export function subscribeToStream(runId, key, { accessToken, onChunk, onEnd, onError, ...options }) {
  const url = `${baseUrl(options)}/realtime/v1/streams/${encodeURIComponent(runId)}/${encodeURIComponent(key)}`;
  return follow(url, accessToken, (chunk) => void onChunk(chunk), onEnd, onError);
}

/** Trigger a task with a trigger token (or any key that may): { id, publicAccessToken } of the new run. */
export async function triggerTask(taskId, payload, { accessToken, options: runOptions, ...options }) {
  const response = await fetch(`${baseUrl(options)}/api/v1/tasks/${encodeURIComponent(taskId)}/trigger`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ payload, options: runOptions ?? {} }),
  });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(`${response.status}: ${body.error ?? JSON.stringify(body)}`);
  }
  return body;
}
