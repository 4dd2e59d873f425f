/** The manager's work queue with real timers: dedup, dirty re-queue, backoff, rate limit, concurrency, requeueAfter, drain. */
import { expect } from 'chai';
import { WorkQueue } from '../../../../runtime/controller/manager/work-queue.js';
import { backoffDelay } from '../../../../runtime/controller/manager/backoff.js';
import { TokenBucket } from '../../../../runtime/controller/manager/rate-limiter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fast = { rateLimit: { qps: 10_000, burst: 10_000 }, backoff: { baseMs: 20, maxMs: 1000 } };

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('controller work queue', () => {
  it('queues a key once however often it is added', async () => {
    const q = new WorkQueue(fast);
    for (let i = 0; i < 5; i++) {
      q.add('ns/a');
      q.add('ns/b');
    }
    expect(q.depth).to.equal(2);
    const seen: string[] = [];
    q.start(async (key) => {
      seen.push(key);
    });
    await until(() => seen.length === 2);
    await sleep(30);
    expect(seen).to.deep.equal(['ns/a', 'ns/b']);
    q.shutDown();
  });

  it('never hands one key to two workers; an add during processing runs it once more afterwards', async () => {
    const q = new WorkQueue({ ...fast, concurrency: 4 });
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    q.start(async () => {
      calls += 1;
      active += 1;
      maxActive = Math.max(maxActive, active);
      await sleep(40);
      active -= 1;
    });
    q.add('k');
    await sleep(10);
    for (let i = 0; i < 5; i++) q.add('k');
    await until(() => calls === 2 && active === 0);
    await sleep(60);
    expect(calls).to.equal(2);
    expect(maxActive).to.equal(1);
    q.shutDown();
  });

  it('backs off per key exponentially after failures and resets after a success', async () => {
    const times: number[] = [];
    let retries = 0;
    const q2 = new WorkQueue({
      ...fast,
      backoff: { baseMs: 40, maxMs: 1000 },
      onRetry: () => {
        retries += 1;
      },
    });
    q2.start(async () => {
      times.push(Date.now());
      if (times.length <= 3) throw new Error('boom');
    });
    q2.add('k');
    await until(() => times.length === 4, 3000);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps[0]).to.be.within(35, 200);
    expect(gaps[1]).to.be.within(75, 300);
    expect(gaps[2]).to.be.within(155, 500);
    expect(retries).to.equal(3);
    expect(q2.retries('k')).to.equal(0);
    q2.shutDown();
  });

  it('keeps one key failing from delaying the others', async () => {
    const q = new WorkQueue({ ...fast, backoff: { baseMs: 500, maxMs: 1000 } });
    const seen: string[] = [];
    q.start(async (key) => {
      seen.push(key);
      if (key === 'bad') throw new Error('boom');
    });
    q.add('bad');
    q.add('good');
    await until(() => seen.includes('good'));
    expect(q.retries('bad')).to.equal(1);
    expect(seen.filter((k) => k === 'bad')).to.have.length(1);
    q.shutDown();
  });

  it('spaces failure requeues with the global token bucket but never throttles fresh keys', async () => {
    const q = new WorkQueue({ concurrency: 50, rateLimit: { qps: 20, burst: 2 }, backoff: { baseMs: 1, maxMs: 10 } });
    const first: number[] = [];
    const retried: number[] = [];
    const calls = new Map<string, number>();
    const started = Date.now();
    q.start(async (key) => {
      const n = (calls.get(key) ?? 0) + 1;
      calls.set(key, n);
      (n === 1 ? first : retried).push(Date.now() - started);
      if (n === 1) throw new Error('fail once');
    });
    for (let i = 0; i < 6; i++) q.add(`k${i}`);
    await until(() => retried.length === 6, 3000);
    // Fresh keys all ran at once; retries: 2 from the burst, then one per 50 ms.
    expect(Math.max(...first)).to.be.below(100);
    expect(retried.sort((x, y) => x - y)[5]).to.be.at.least(190);
    q.shutDown();
  });

  it('shares one token bucket between queues (the global limit)', async () => {
    const bucket = new TokenBucket(20, 2);
    const queues = [
      new WorkQueue({ concurrency: 50, bucket, backoff: { baseMs: 1, maxMs: 10 } }),
      new WorkQueue({ concurrency: 50, bucket, backoff: { baseMs: 1, maxMs: 10 } }),
    ];
    const retried: number[] = [];
    const started = Date.now();
    const seen = new Set<string>();
    for (const q of queues) {
      q.start(async (key) => {
        if (!seen.has(key)) {
          seen.add(key);
          throw new Error('fail once');
        }
        retried.push(Date.now() - started);
      });
    }
    for (let i = 0; i < 3; i++) {
      queues[0].add(`a${i}`);
      queues[1].add(`b${i}`);
    }
    await until(() => retried.length === 6, 3000);
    expect(Math.max(...retried)).to.be.at.least(190);
    for (const q of queues) q.shutDown();
  });

  it('runs at most `concurrency` reconciles at once', async () => {
    const q = new WorkQueue({ ...fast, concurrency: 3 });
    let active = 0;
    let maxActive = 0;
    let done = 0;
    q.start(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await sleep(20);
      active -= 1;
      done += 1;
    });
    for (let i = 0; i < 12; i++) q.add(`k${i}`);
    await until(() => done === 12);
    expect(maxActive).to.equal(3);
    q.shutDown();
  });

  it('requeues after requeueAfterMs without an event, and the earliest pending time wins', async () => {
    const q = new WorkQueue(fast);
    const times: number[] = [];
    q.start(async () => {
      times.push(Date.now());
      return times.length === 1 ? { requeueAfterMs: 120 } : undefined;
    });
    q.add('k');
    await until(() => times.length === 2, 2000);
    expect(times[1] - times[0]).to.be.within(110, 400);
    const later: number[] = [];
    const q2 = new WorkQueue(fast);
    q2.start(async () => {
      later.push(Date.now());
    });
    const t0 = Date.now();
    q2.addAfter('x', 2000);
    q2.addAfter('x', 60);
    q2.addAfter('x', 1000);
    await until(() => later.length === 1, 1500);
    expect(later[0] - t0).to.be.within(50, 500);
    q.shutDown();
    q2.shutDown();
  });

  it("a requeue beyond Node's 24.8-day timer limit waits instead of firing at once", async () => {
    const q = new WorkQueue(fast);
    let calls = 0;
    q.start(async () => {
      calls += 1;
    });
    q.addAfter('yearly', 365 * 24 * 3600 * 1000);
    await sleep(100);
    expect(calls).to.equal(0);
    q.shutDown();
  });

  it('pause stops dispatching, drain waits for in-flight work, shutDown drops delayed keys', async () => {
    const q = new WorkQueue(fast);
    let finished = 0;
    q.start(async () => {
      await sleep(80);
      finished += 1;
    });
    q.add('a');
    await sleep(10);
    q.pause();
    q.add('b');
    expect(await q.drain(1000)).to.equal(true);
    expect(finished).to.equal(1);
    expect(q.depth).to.equal(1);
    q.start(async () => {
      await sleep(300);
    });
    expect(await q.drain(50)).to.equal(false);
    q.addAfter('c', 30);
    q.shutDown();
    await sleep(60);
    expect(q.depth).to.equal(0);
  });

  it('computes capped exponential delays and token waits', () => {
    const policy = { baseMs: 1000, maxMs: 300_000 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(policy, n))).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(backoffDelay(policy, 30)).to.equal(300_000);
    let now = 0;
    const bucket = new TokenBucket(10, 1, () => now);
    expect(bucket.reserve()).to.equal(0);
    expect(bucket.reserve()).to.equal(100);
    expect(bucket.reserve()).to.equal(200);
    now = 300;
    expect(bucket.reserve()).to.equal(0);
    expect(() => new TokenBucket(0, 1)).to.throw(/qps > 0/);
  });
});
