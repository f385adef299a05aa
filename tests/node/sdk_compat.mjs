// Trigger.dev's official Node SDK, used unchanged against a running Tether gateway.
//
//   TETHER_URL=http://127.0.0.1:8030 TETHER_TOKEN=tt_dev_... node sdk_compat.mjs
//
// Only the SDK's public surface is used (configure, tasks, runs, schedules), so a pass means a Trigger.dev
// user can point their code at Tether. Runs the project's `echo` and `sleep` test tasks.
// Prints one JSON line ({"ok", "checks": [...]}) and exits 1 if any check fails, naming it on stderr.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { configure, runs, schedules, tasks } from "@trigger.dev/sdk";

const TOTAL_MS = Number(process.env.TETHER_SDK_TIMEOUT_MS ?? 110_000);
const RUN_MS = 60_000;
const POLL_MS = 250;

const url = process.env.TETHER_URL;
const token = process.env.TETHER_TOKEN;
if (!url || !token) {
  console.error("set TETHER_URL (the gateway, e.g. http://127.0.0.1:8030) and TETHER_TOKEN (its secret key)");
  process.exit(2);
}
configure({ baseURL: url, accessToken: token });

const checks = [];

function finish() {
  const failed = checks.filter((c) => !c.ok);
  console.log(JSON.stringify({ ok: failed.length === 0 && checks.length > 0, checks }));
  for (const c of failed) console.error(`FAIL ${c.name}: ${c.error}`);
  process.exit(failed.length === 0 ? 0 : 1);
}

// A hung request or a run that never finishes must still end with a report, before the caller's own timeout.
setTimeout(() => {
  checks.push({ name: "finishes in time", ok: false, error: `still running after ${TOTAL_MS} ms` });
  finish();
}, TOTAL_MS).unref();

async function check(name, fn) {
  const started = Date.now();
  try {
    const detail = await fn();
    checks.push({ name, ok: true, ms: Date.now() - started, ...(detail === undefined ? {} : { detail }) });
    return detail;
  } catch (error) {
    const message = `${error?.name ?? "Error"}: ${error?.message ?? error}`;
    checks.push({ name, ok: false, ms: Date.now() - started, error: message });
    return undefined;
  }
}

function needs(value, what) {
  if (value === undefined) throw new Error(`skipped: ${what} failed`);
  return value;
}

// runs.poll() has no deadline, so wait with a bounded retrieve loop.
async function waitFor(id, done, what, timeoutMs = RUN_MS) {
  const deadline = Date.now() + timeoutMs;
  let run = await runs.retrieve(id);
  while (!done(run)) {
    if (Date.now() > deadline) throw new Error(`run ${id} is ${run.status}, not ${what}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    run = await runs.retrieve(id);
  }
  return run;
}

async function completed(id) {
  const run = await waitFor(id, (r) => r.isCompleted, "finished");
  assert.equal(run.status, "COMPLETED", `run ${id} ended ${run.status}: ${JSON.stringify(run.error ?? null)}`);
  assert.ok(run.isSuccess && !run.isFailed && !run.isCancelled, `run ${id} flags disagree with COMPLETED`);
  return run;
}

const PAYLOAD = { greeting: "héllo ✓", n: 42, ratio: 0.5, yes: true, nothing: null, list: [1, "two", { three: 3 }] };
const suffix = randomUUID().slice(0, 8);

const echoed = await check("trigger echo and retrieve it COMPLETED with its payload as output", async () => {
  const handle = await tasks.trigger("echo", PAYLOAD, { tags: [`compat-${suffix}`] });
  assert.equal(typeof handle.id, "string");
  assert.equal(typeof handle.publicAccessToken, "string");
  const run = await completed(handle.id);
  assert.equal(run.id, handle.id);
  assert.equal(run.taskIdentifier, "echo");
  assert.deepEqual(run.output, PAYLOAD);
  assert.deepEqual(run.payload, PAYLOAD);
  assert.deepEqual(run.tags, [`compat-${suffix}`]);
  assert.ok(run.createdAt instanceof Date && run.startedAt instanceof Date && run.finishedAt instanceof Date);
  assert.ok(run.attemptCount >= 1, `attemptCount is ${run.attemptCount}`);
  assert.equal(run.depth, 0);
  assert.equal(run.triggerFunction, "trigger");
  return { id: run.id };
});

await check("trigger with the same idempotencyKey twice returns the same run", async () => {
  const key = `compat-key-${suffix}`;
  const first = await tasks.trigger("echo", { key }, { idempotencyKey: key });
  const second = await tasks.trigger("echo", { other: true }, { idempotencyKey: key });
  assert.equal(second.id, first.id);
  const fresh = await tasks.trigger("echo", { key }, { idempotencyKey: `${key}-other` });
  assert.notEqual(fresh.id, first.id);
  const run = await completed(first.id);
  assert.deepEqual(run.output, { key });
  return { id: first.id };
});

await check("list runs filtered by taskIdentifier and status, following pages", async () => {
  const id = needs(echoed, "the echo run").id;
  const page = await runs.list({ taskIdentifier: ["echo"], status: ["COMPLETED"], limit: 100 });
  assert.ok(page.data.some((r) => r.id === id), `${id} missing from the first page`);
  for (const r of page.data) {
    assert.equal(r.taskIdentifier, "echo");
    assert.equal(r.status, "COMPLETED");
    assert.equal(typeof r.env?.id, "string");
  }
  const none = await runs.list({ taskIdentifier: ["echo"], status: ["CANCELED"], limit: 100 });
  assert.ok(!none.data.some((r) => r.id === id), `${id} listed as CANCELED`);
  // Pages of one run make the SDK follow `pagination.next` cursors.
  const seen = [];
  for await (const r of runs.list({ taskIdentifier: "echo", status: "COMPLETED", limit: 1 })) {
    seen.push(r.id);
    if ((seen.includes(id) && seen.length >= 2) || seen.length >= 200) break;
  }
  assert.equal(new Set(seen).size, seen.length, "a run appeared on two pages");
  assert.ok(seen.includes(id), `${id} not reached by iterating pages`);
  assert.ok(seen.length >= 2, `only ${seen.length} page(s) iterated`);
  return { firstPage: page.data.length, iterated: seen.length };
});

await check("cancel an executing sleep run and retrieve it CANCELED", async () => {
  const handle = await tasks.trigger("sleep", { seconds: 30 });
  await waitFor(handle.id, (r) => r.isExecuting || r.isCompleted, "EXECUTING");
  const canceled = await runs.cancel(handle.id);
  assert.equal(canceled.id, handle.id);
  const run = await waitFor(handle.id, (r) => r.isCompleted, "finished", 15_000);
  assert.equal(run.status, "CANCELED");
  assert.ok(run.isCancelled && !run.isSuccess, "flags disagree with CANCELED");
  assert.equal(run.output, undefined);
  return { id: run.id };
});

await check("replay a completed run and see the replay complete with the same output", async () => {
  const id = needs(echoed, "the echo run").id;
  const replay = await runs.replay(id);
  assert.equal(typeof replay.id, "string");
  assert.notEqual(replay.id, id);
  const run = await completed(replay.id);
  assert.equal(run.taskIdentifier, "echo");
  assert.deepEqual(run.output, PAYLOAD);
  return { id: run.id, replayOf: id };
});

await check("batch trigger three echo items and see each complete", async () => {
  const items = [0, 1, 2].map((i) => ({ payload: { i, suffix } }));
  const batch = await tasks.batchTrigger("echo", items);
  assert.equal(typeof batch.batchId, "string");
  assert.equal(batch.runCount, 3);
  const listed = await runs.list({ batch: batch.batchId, limit: 10 });
  assert.equal(listed.data.length, 3, `batch ${batch.batchId} lists ${listed.data.length} runs`);
  const finished = await Promise.all(listed.data.map((r) => completed(r.id)));
  const outputs = finished.map((r) => r.output.i).sort();
  assert.deepEqual(outputs, [0, 1, 2]);
  for (const r of finished) {
    assert.equal(r.batchId, batch.batchId);
    assert.equal(r.triggerFunction, "batchTrigger");
  }
  return { batchId: batch.batchId, runs: finished.map((r) => r.id) };
});

await check("create a schedule twice by deduplicationKey, list, deactivate, update and delete it", async () => {
  const options = { task: "tenant-sync", cron: "0 9 * * 1L", timezone: "Europe/Berlin", externalId: `shop-${suffix}`, deduplicationKey: `compat-${suffix}` };
  const created = await schedules.create(options);
  assert.ok(created.id.startsWith("sched_"));
  assert.equal(created.generator.expression, "0 9 * * 1L");
  assert.ok(created.nextRun instanceof Date, "nextRun is not a date");
  const again = await schedules.create({ ...options, cron: "30 8 * * *" });
  assert.equal(again.id, created.id);
  const listed = await schedules.list({ perPage: 100 });
  assert.ok(listed.data.some((s) => s.id === created.id && s.generator.expression === "30 8 * * *"));
  assert.equal((await schedules.deactivate(created.id)).active, false);
  assert.equal((await schedules.activate(created.id)).active, true);
  const updated = await schedules.update(created.id, { task: "tenant-sync", cron: "0 * * * *" });
  assert.equal(updated.timezone, "UTC");
  assert.ok((await schedules.timezones()).timezones.includes("America/New_York"));
  await schedules.del(created.id);
  await assert.rejects(schedules.retrieve(created.id));
  return { id: created.id };
});

finish();
