/**
 * test/server/model-server.ts over real sockets (port 0): Range and conditional
 * requests, CORS, and every injected fault as a client sees it. Requests go
 * through node:http with no agent (one connection each), so a raw path such as
 * `/models/../x` reaches the server unnormalised.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURES_DIR, modelServerClient, parseRange, startModelServer, type ModelServer } from '../server/model-server.ts';

const SMALL = 'models/stories260K/tok512.bin'; // 6227 bytes
const LARGE = 'models/stories260K/stories260K-f16.gguf'; // 601248 bytes
const small = readFileSync(FIXTURES_DIR + SMALL);
const large = readFileSync(FIXTURES_DIR + LARGE);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Set when the connection ended before the declared Content-Length. */
  error: string | null;
  ms: number;
}

let server: ModelServer;

function get(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(server.url + '/', { method, path, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      let error: string | null = null;
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('aborted', () => (error ??= 'aborted'));
      res.on('error', (e) => (error ??= e.message));
      res.on('close', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), error, ms: performance.now() - t }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const model = (rel: string, headers: Record<string, string> = {}, method = 'GET') => get('/models/' + rel, headers, method);
const control = (faults: Record<string, unknown>) => get('/__control', { 'Content-Type': 'application/json' }, 'POST', JSON.stringify(faults));

beforeAll(async () => {
  server = await startModelServer({ port: 0 });
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => server.reset());

describe('model server: files and Range', () => {
  it('serves the whole file with validators, CORS and no-store', async () => {
    const r = await model(SMALL);
    expect(r.status).toBe(200);
    expect(r.body.equals(small)).toBe(true);
    expect(r.headers['content-length']).toBe(String(small.length));
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['etag']).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(new Date(r.headers['last-modified'] as string).getTime()).toBe(Math.floor(statSync(FIXTURES_DIR + SMALL).mtimeMs / 1000) * 1000);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-expose-headers']).toBe('Content-Range, Content-Length, ETag, Last-Modified, Accept-Ranges, X-Linked-Etag');
    expect(r.headers['x-linked-etag']).toBeUndefined();
  });

  it('HEAD: headers only; Range is ignored for HEAD (RFC 9110: GET only)', async () => {
    const r = await model(SMALL, { Range: 'bytes=0-9' }, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(small.length));
    expect(r.body.length).toBe(0);
  });

  it.each([
    ['bytes=10-19', 10, 19],
    ['bytes=0-0', 0, 0],
    ['bytes=6000-', 6000, 6226],
    ['bytes=-16', 6211, 6226],
    ['bytes=-100000', 0, 6226], // suffix longer than the file: all of it
    ['bytes=6200-99999', 6200, 6226], // last-pos past the end: clamped
  ])('%s → 206 %i-%i', async (range, start, end) => {
    const r = await model(SMALL, { Range: range });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${small.length}`);
    expect(r.headers['content-length']).toBe(String(end - start + 1));
    expect(r.body.equals(small.subarray(start, end + 1))).toBe(true);
  });

  it.each(['bytes=6227-', 'bytes=99999-100000', 'bytes=-0', 'bytes=5-2', 'bytes=abc', 'bytes=-'])('%s → 416 with bytes */size', async (range) => {
    const r = await model(SMALL, { Range: range });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe(`bytes */${small.length}`);
    expect(r.body.length).toBe(0);
  });

  it('ignores several ranges and other units (200, whole file)', async () => {
    for (const range of ['bytes=0-1,5-6', 'items=0-1']) {
      const r = await model(SMALL, { Range: range });
      expect(r.status, range).toBe(200);
      expect(r.body.equals(small)).toBe(true);
    }
  });

  it('parseRange on an empty file: every range is unsatisfiable', () => {
    expect(parseRange('bytes=0-', 0).kind).toBe('unsatisfiable');
    expect(parseRange('bytes=-5', 0).kind).toBe('unsatisfiable');
    expect(parseRange(undefined, 0).kind).toBe('none');
  });

  it('a large file arrives intact (many chunks)', async () => {
    const r = await model(LARGE, { Range: 'bytes=1000-' });
    expect(r.status).toBe(206);
    expect(r.body.equals(large.subarray(1000))).toBe(true);
  });
});

describe('model server: conditional requests', () => {
  it('If-Range with the current ETag honours the range; another ETag or a weak one gets 200 and the whole file', async () => {
    const etag = (await model(SMALL, {}, 'HEAD')).headers['etag'] as string;
    const hit = await model(SMALL, { Range: 'bytes=0-9', 'If-Range': etag });
    expect(hit.status).toBe(206);
    expect(hit.body.equals(small.subarray(0, 10))).toBe(true);
    for (const v of ['"other"', `W/${etag}`]) {
      const miss = await model(SMALL, { Range: 'bytes=0-9', 'If-Range': v });
      expect(miss.status, v).toBe(200);
      expect(miss.headers['content-range']).toBeUndefined();
      expect(miss.body.equals(small)).toBe(true);
    }
  });

  it('If-Range with a date: exactly Last-Modified matches, another date does not', async () => {
    const lm = (await model(SMALL, {}, 'HEAD')).headers['last-modified'] as string;
    expect((await model(SMALL, { Range: 'bytes=0-9', 'If-Range': lm })).status).toBe(206);
    const earlier = new Date(Date.parse(lm) - 1000).toUTCString();
    expect((await model(SMALL, { Range: 'bytes=0-9', 'If-Range': earlier })).status).toBe(200);
  });

  it('If-Match: a mismatch is 412; the current ETag, one of a list, or * passes', async () => {
    const etag = (await model(SMALL, {}, 'HEAD')).headers['etag'] as string;
    const bad = await model(SMALL, { 'If-Match': '"nope"', Range: 'bytes=0-9' });
    expect(bad.status).toBe(412);
    expect(bad.headers['etag']).toBe(etag);
    expect((await model(SMALL, { 'If-Match': `W/${etag}` })).status).toBe(412); // weak never matches If-Match
    expect((await model(SMALL, { 'If-Match': etag, Range: 'bytes=0-9' })).status).toBe(206);
    expect((await model(SMALL, { 'If-Match': `"a", ${etag}` })).status).toBe(200);
    expect((await model(SMALL, { 'If-Match': '*' })).status).toBe(200);
  });
});

describe('model server: CORS, errors, paths', () => {
  it('answers a preflight for Range, If-Range and If-Match', async () => {
    const r = await model(SMALL, {
      Origin: 'http://127.0.0.1:5199',
      'Access-Control-Request-Method': 'GET',
      'Access-Control-Request-Headers': 'range, if-range',
    }, 'OPTIONS');
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-allow-headers']).toBe('Range, If-Range, If-Match, Content-Type');
    expect(r.headers['access-control-allow-methods']).toContain('GET');
    expect(r.headers['access-control-allow-methods']).toContain('HEAD');
    const ctl = await get('/__control', { 'Access-Control-Request-Method': 'POST' }, 'OPTIONS');
    expect(ctl.status).toBe(204);
    expect(ctl.headers['access-control-allow-methods']).toContain('POST');
  });

  it('404 with a short text body for a missing file or a directory', async () => {
    for (const p of ['/models/models/nope.gguf', '/models/models/', '/elsewhere']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.headers['content-type']).toContain('text/plain');
      expect(r.body.toString()).toMatch(/^not found/);
    }
  });

  it('403 for a path that escapes the fixtures, raw or percent-encoded', async () => {
    for (const p of ['/models/../../etc/passwd', '/models/..%2f..%2f..%2fetc%2fpasswd', '/models/models/%2e%2e/%2e%2e/%2e%2e/etc/passwd']) {
      expect((await get(p)).status, p).toBe(403);
    }
  });

  it('/html/<any>: 200 text/html, Range ignored', async () => {
    const r = await get('/html/TheBloke/model.gguf', { Range: 'bytes=0-3' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-range']).toBeUndefined();
    expect(r.body.toString()).toMatch(/^<!doctype html>/);
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });

  it('/health is 200; unknown or mistyped faults are 400', async () => {
    expect((await get('/health')).status).toBe(200);
    const typo = await control({ cutAfterByte: 10 });
    expect(typo.status).toBe(400);
    expect(JSON.parse(typo.body.toString()).error).toContain('cutAfterByte');
    expect((await control({ delayMs: -1 })).status).toBe(400);
    expect((await control({ status: 'x' })).status).toBe(400);
    expect((await get('/__control', {}, 'POST', '{not json')).status).toBe(400);
  });
});

describe('model server: faults', () => {
  it('cutAfterBytes: each response ends after that many body bytes; the client sees a truncated body', async () => {
    const ok = await control({ cutAfterBytes: 1000 });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString()).cutAfterBytes).toBe(1000);
    for (let i = 0; i < 2; i++) {
      const r = await model(LARGE, { Range: `bytes=${i * 1000}-` });
      expect(r.status).toBe(206);
      expect(r.headers['content-length']).toBe(String(large.length - i * 1000));
      expect(r.error).not.toBeNull();
      expect(r.body.length).toBe(1000);
      expect(r.body.equals(large.subarray(i * 1000, i * 1000 + 1000))).toBe(true);
    }
    // A response no longer than the limit completes.
    const short = await model(LARGE, { Range: 'bytes=0-999' });
    expect(short.error).toBeNull();
    expect(short.body.length).toBe(1000);
    const log = server.log();
    expect(log.requests.map((e) => [e.bodyBytes, e.aborted, e.fault])).toEqual([[1000, true, 'cut'], [1000, true, 'cut'], [1000, false, null]]);
  });

  it('cutAfterBytes: fetch (undici) rejects while reading the body', async () => {
    server.control({ cutAfterBytes: 70_000 });
    const res = await fetch(`${server.url}/models/${LARGE}`);
    expect(res.status).toBe(200);
    let got = 0;
    const reader = res.body!.getReader();
    await expect((async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        got += value.length;
      }
    })()).rejects.toThrow();
    expect(got).toBe(70_000);
  });

  it('cutAfterBytes: 0 sends the headers and no body', async () => {
    server.control({ cutAfterBytes: 0 });
    const r = await model(SMALL);
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.error).not.toBeNull();
  });

  it('cutAfterTotalBytes: counts across responses and stays armed; cutTotalOnce disarms after one cut', async () => {
    await control({ cutAfterTotalBytes: 1000 });
    expect((await model(LARGE, { Range: 'bytes=0-599' })).body.length).toBe(600);
    const cut = await model(LARGE, { Range: 'bytes=600-' });
    expect(cut.body.length).toBe(400);
    expect(cut.error).not.toBeNull();
    const after = await model(LARGE, { Range: 'bytes=1000-' });
    expect(after.body.length).toBe(0);
    expect(after.error).not.toBeNull();
    expect(server.log().modelBodyBytes).toBe(1000);

    server.reset();
    server.control({ cutAfterTotalBytes: 5000, cutTotalOnce: true });
    const first = await model(LARGE);
    expect(first.body.length).toBe(5000);
    expect(server.faults().cutAfterTotalBytes).toBeNull();
    const resumed = await model(LARGE, { Range: 'bytes=5000-' });
    expect(resumed.error).toBeNull();
    expect(Buffer.concat([first.body, resumed.body]).equals(large)).toBe(true);
    expect(server.log().requests.map((e) => e.fault)).toEqual(['cutTotal', null]);
  });

  it('stallAfterTotalBytes: bodies stop at the total and hold until the fault is cleared', async () => {
    server.control({ stallAfterTotalBytes: 3000 });
    const parts: number[] = [];
    const whole = model(LARGE, { Range: 'bytes=0-9999' }).then((r) => (parts.push(r.body.length), r));
    await new Promise((r) => setTimeout(r, 300));
    expect(server.log().modelBodyBytes).toBe(3000);
    expect(parts, 'a stalled response has not ended').toEqual([]);
    server.control({ stallAfterTotalBytes: null });
    const r = await whole;
    expect(r.error).toBeNull();
    expect(r.body.equals(large.subarray(0, 10000))).toBe(true);
  });

  it('bytesPerSecond throttles the body; delayMs delays the answer', async () => {
    const fast = await model(LARGE, { Range: 'bytes=0-19999' });
    expect(fast.ms).toBeLessThan(400);
    server.control({ bytesPerSecond: 40_000 });
    const slow = await model(LARGE, { Range: 'bytes=0-19999' }); // 0.5 s at 40 kB/s
    expect(slow.body.equals(large.subarray(0, 20000))).toBe(true);
    expect(slow.ms).toBeGreaterThan(430);
    expect(slow.ms).toBeLessThan(2000);
    server.reset();
    server.control({ delayMs: 300 });
    const late = await model(SMALL);
    expect(late.status).toBe(200);
    expect(late.ms).toBeGreaterThanOrEqual(290);
  });

  it('etag override: the served ETag and Last-Modified change; the old ETag no longer matches If-Range or If-Match', async () => {
    const real = await model(SMALL, {}, 'HEAD');
    const realEtag = real.headers['etag'] as string;
    server.control({ etag: 'v2' });
    const r = await model(SMALL, {}, 'HEAD');
    expect(r.headers['etag']).toBe('"v2"');
    expect(r.headers['last-modified']).not.toBe(real.headers['last-modified']);
    const ranged = await model(SMALL, { Range: 'bytes=0-9', 'If-Range': realEtag });
    expect(ranged.status).toBe(200);
    expect(ranged.body.length).toBe(small.length);
    expect((await model(SMALL, { 'If-Match': realEtag })).status).toBe(412);
    expect((await model(SMALL, { Range: 'bytes=0-9', 'If-Range': '"v2"' })).status).toBe(206);
    server.control({ etag: null });
    expect((await model(SMALL, {}, 'HEAD')).headers['etag']).toBe(realEtag);
  });

  it('changeEtagAfterRequests: the first N requests see one ETag, later ones another', async () => {
    await model(SMALL); // before the fault is set: not counted
    server.control({ changeEtagAfterRequests: 2 });
    const tags: string[] = [];
    for (let i = 0; i < 4; i++) tags.push((await model(SMALL, {}, 'HEAD')).headers['etag'] as string);
    expect(tags[0]).toBe(tags[1]);
    expect(tags[2]).not.toBe(tags[1]);
    expect(tags[3]).toBe(tags[2]);
    // A resume with the first ETag after the change gets the whole file.
    const r = await model(SMALL, { Range: 'bytes=100-', 'If-Range': tags[0] });
    expect(r.status).toBe(200);
  });

  it('failRequests: the next N /models requests get 503, then the file; status forces a code until cleared', async () => {
    server.control({ failRequests: 2 });
    expect((await get('/html/x')).status).toBe(200); // not a /models request: not counted
    expect((await model(SMALL)).status).toBe(503);
    expect((await model(SMALL)).status).toBe(503);
    expect(server.faults().failRequests).toBe(0);
    expect((await model(SMALL)).status).toBe(200);
    server.control({ status: 500 });
    for (let i = 0; i < 2; i++) {
      const r = await model(SMALL, { Range: 'bytes=0-9' });
      expect(r.status).toBe(500);
      expect(r.headers['access-control-allow-origin']).toBe('*');
    }
    server.control({ status: null });
    expect((await model(SMALL, { Range: 'bytes=0-9' })).status).toBe(206);
  });
});

describe('model server: faults of a broken or unusual server', () => {
  it('noValidators: no ETag, no Last-Modified, and If-Range never matches', async () => {
    const etag = (await model(SMALL, {}, 'HEAD')).headers['etag'] as string;
    server.control({ noValidators: true });
    const r = await model(SMALL, { Range: 'bytes=0-9' });
    expect(r.status).toBe(206);
    expect(r.headers['etag']).toBeUndefined();
    expect(r.headers['last-modified']).toBeUndefined();
    expect(r.body.equals(small.subarray(0, 10))).toBe(true);
    expect((await model(SMALL, { Range: 'bytes=0-9', 'If-Range': etag })).status).toBe(200);
    expect(server.log().requests[1].etag).toBeNull(); // [0] is the HEAD before the fault
  });

  it('linkedEtag: sent as X-Linked-Etag, quoted', async () => {
    server.control({ linkedEtag: 'ab'.repeat(32) });
    const r = await model(SMALL, { Range: 'bytes=0-3' });
    expect(r.headers['x-linked-etag']).toBe(`"${'ab'.repeat(32)}"`);
    expect((await control({ linkedEtag: '' })).status).toBe(400);
  });

  it('corruptByteAt: that byte arrives flipped in every body that carries it; others are intact', async () => {
    server.control({ corruptByteAt: 70_000 }); // in the second 64 KiB slice of a body from 0
    const whole = await model(LARGE);
    const want = Buffer.from(large);
    want[70_000] ^= 0xff;
    expect(whole.body.equals(want)).toBe(true);
    const ranged = await model(LARGE, { Range: 'bytes=69990-70009' });
    expect(ranged.body.equals(want.subarray(69990, 70010))).toBe(true);
    expect((await model(LARGE, { Range: 'bytes=0-99' })).body.equals(large.subarray(0, 100))).toBe(true);
    expect(server.log().requests.map((e) => e.fault)).toEqual(['corrupt', 'corrupt', null]);
  });

  it('contentRangeTotal: the total in Content-Range is whatever the test says (206 and 416)', async () => {
    server.control({ contentRangeTotal: '9007199254740991' });
    const r = await model(SMALL, { Range: 'bytes=0-3' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe('bytes 0-3/9007199254740991');
    expect(r.body.equals(small.subarray(0, 4))).toBe(true);
    server.control({ contentRangeTotal: '1' + '0'.repeat(400) });
    expect((await model(SMALL, { Range: 'bytes=99999-' })).headers['content-range']).toBe(`bytes */1${'0'.repeat(400)}`);
    expect((await control({ contentRangeTotal: 'a\nb' })).status).toBe(400);
  });

  it('contentLength: the header lies, the real body follows, then the connection closes', async () => {
    server.control({ contentLength: '9007199254740991' });
    const r = await model(SMALL, { Range: 'bytes=0-9' });
    expect(r.headers['content-length']).toBe('9007199254740991');
    expect(r.body.equals(small.subarray(0, 10))).toBe(true);
    expect(r.error).not.toBeNull(); // closed before the promised length
    server.control({ contentLength: '-5' });
    // node:http refuses such a header itself; fetch (undici) rejects the response at once
    await expect(fetch(`${server.url}/models/${SMALL}`, { headers: { Range: 'bytes=0-9' } })).rejects.toThrow();
  });
});

describe('model server: log', () => {
  it('records every non-control request with its headers, status and bytes; totals per path; reset clears', async () => {
    const etag = (await model(SMALL, {}, 'HEAD')).headers['etag'] as string;
    await model(SMALL, { Range: 'bytes=0-99', 'If-Range': etag });
    await model(SMALL, { 'If-Match': '"x"' });
    await get('/html/login');
    await get('/health');
    const log = (await get('/__log')).body.toString();
    const report = JSON.parse(log);
    expect(report.requests.map((e: any) => [e.method, e.path, e.status, e.bodyBytes])).toEqual([
      ['HEAD', `/models/${SMALL}`, 200, 0],
      ['GET', `/models/${SMALL}`, 206, 100],
      ['GET', `/models/${SMALL}`, 412, expect.any(Number)],
      ['GET', '/html/login', 200, expect.any(Number)],
    ]);
    const ranged = report.requests[1];
    expect(ranged).toMatchObject({ range: 'bytes=0-99', ifRange: etag, ifMatch: null, aborted: false, fault: null, etag });
    expect(typeof ranged.t).toBe('number');
    expect(report.requests[2].ifMatch).toBe('"x"');
    expect(report.totals[`/models/${SMALL}`].requests).toBe(3);
    expect(report.totals[`/models/${SMALL}`].bodyBytes).toBe(100 + report.requests[2].bodyBytes);
    expect(report.modelBodyBytes).toBe(100);

    expect((await get('/__reset', {}, 'POST')).status).toBe(200);
    expect(JSON.parse((await get('/__log')).body.toString())).toEqual({ requests: [], totals: {}, modelBodyBytes: 0 });
  });

  it('modelServerClient drives the same API over HTTP', async () => {
    const c = modelServerClient(server.url);
    expect((await c.control({ failRequests: 1 })).failRequests).toBe(1);
    expect((await model(SMALL)).status).toBe(503);
    const log = await c.log();
    expect(log.requests[0]).toMatchObject({ status: 503, fault: 'failRequests' });
    await c.reset();
    expect((await c.faults()).failRequests).toBe(0);
    await expect(c.control({ nope: 1 } as never)).rejects.toThrow(/unknown fault/);
  });
});

describe('model server: standalone', () => {
  it('prints one line when listening and exits 0 on SIGTERM', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/server/model-server.ts', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before listening`)));
    });
    const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(line)?.[1];
    expect(url).toBeDefined();
    expect((await fetch(url + '/health')).status).toBe(200);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
  }, 30_000);
});
