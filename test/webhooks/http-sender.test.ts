import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWebhookUrl, postWebhook, type LookupFn } from '../../src/webhooks/http-sender';
import { AddressPolicy, parseAllowedNetworks } from '../../src/webhooks/network-policy';

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Starts an HTTP server on 127.0.0.1 and returns it with its port. */
async function listen(
  handler: http.RequestListener,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const defaultPolicy = new AddressPolicy([]);
const loopbackPolicy = new AddressPolicy(['127.0.0.1/32']);

function request(url: string, timeoutMs = 5000) {
  return {
    url,
    body: Buffer.from('{"event":"FLAG_UPDATED"}'),
    headers: { 'content-type': 'application/json', 'x-flagward-signature': 'abc123' },
    timeoutMs,
  };
}

describe('AddressPolicy', () => {
  const policy = new AddressPolicy([]);

  it.each([
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['0.0.0.0', /unspecified/],
    ['10.1.2.3', /private/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['169.254.169.254', /link-local \/ cloud metadata/],
    ['169.254.1.1', /link-local/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.0.0.8', /IETF/],
    ['192.0.2.1', /documentation/],
    ['192.168.1.1', /private/],
    ['198.18.0.1', /benchmarking/],
    ['198.19.255.255', /benchmarking/],
    ['198.51.100.7', /documentation/],
    ['203.0.113.9', /documentation/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['240.0.0.1', /reserved/],
    ['255.255.255.255', /broadcast/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['[::1]', /loopback/],
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /documentation/],
    ['100::1', /discard/],
    ['::ffff:127.0.0.1', /embeds 127\.0\.0\.1, which is a loopback/],
    ['::ffff:7f00:1', /embeds 127\.0\.0\.1/],
    ['::ffff:169.254.169.254', /cloud metadata/],
    ['::ffff:10.0.0.1', /private/],
    ['::ffff:0:10.0.0.1', /private/],
    ['64:ff9b::10.0.0.1', /embeds 10\.0\.0\.1, which is a private/],
    ['64:ff9b::7f00:1', /loopback/],
    ['::127.0.0.1', /loopback/],
    ['::a9fe:a9fe', /cloud metadata/],
    ['2002:7f00:1::1', /loopback/],
    ['not-an-ip', /not an IP address/],
    ['', /not an IP address/],
    ['1.2.3', /not an IP address/],
    ['localhost', /not an IP address/],
  ])('blocks %s', (ip, reason) => {
    expect(policy.blockedReason(ip)).toMatch(reason);
  });

  it('names the address in the reason', () => {
    expect(policy.blockedReason('127.0.0.1')).toBe('127.0.0.1 is a loopback address');
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('allows %s', (ip) => {
    expect(policy.blockedReason(ip)).toBeNull();
  });

  it('lets exactly the allow-listed addresses through', () => {
    const allowing = new AddressPolicy(['127.0.0.1/32']);
    expect(allowing.blockedReason('127.0.0.1')).toBeNull();
    expect(allowing.blockedReason('::ffff:127.0.0.1')).toBeNull();
    expect(allowing.blockedReason('127.0.0.2')).toMatch(/loopback/);
    expect(allowing.blockedReason('10.0.0.1')).toMatch(/private/);
    expect(allowing.blockedReason('8.8.8.8')).toBeNull();
  });

  it('accepts plain addresses and IPv6 ranges in the allow-list', () => {
    const allowing = new AddressPolicy(['10.0.0.5', 'fd00::/8', '192.168.0.0/16']);
    expect(allowing.blockedReason('10.0.0.5')).toBeNull();
    expect(allowing.blockedReason('10.0.0.6')).toMatch(/private/);
    expect(allowing.blockedReason('fd00::1234')).toBeNull();
    expect(allowing.blockedReason('fc00::1')).toMatch(/unique local/);
    expect(allowing.blockedReason('192.168.44.1')).toBeNull();
  });

  it.each([
    '10.0.0.0/33',
    '::/129',
    'example.com',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0/8',
    'fe80::/-1',
  ])('rejects the malformed range %s', (cidr) => {
    expect(() => new AddressPolicy([cidr])).toThrow(`"${cidr}" is not a valid CIDR range`);
  });

  it('parses allow-lists from configuration text', () => {
    expect(parseAllowedNetworks(undefined)).toEqual([]);
    expect(parseAllowedNetworks('')).toEqual([]);
    expect(parseAllowedNetworks('  , ')).toEqual([]);
    expect(parseAllowedNetworks('10.0.0.0/8, 192.168.1.1\n fd00::/8,,127.0.0.1/32')).toEqual([
      '10.0.0.0/8',
      '192.168.1.1',
      'fd00::/8',
      '127.0.0.1/32',
    ]);
    expect(() => parseAllowedNetworks('10.0.0.0/8, 10.0.0.0/33')).toThrow(
      '"10.0.0.0/33" is not a valid CIDR range',
    );
  });
});

describe('postWebhook', () => {
  const received: Received[] = [];
  const redirectTargetHits: Received[] = [];
  let receiverPort = 0;
  let redirectPort = 0;
  let redirectTargetPort = 0;
  let hangingPort = 0;
  let bigBodyPort = 0;
  let closedPort = 0;
  const servers: http.Server[] = [];

  function recordInto(list: Received[]): http.RequestListener {
    return (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        list.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    };
  }

  beforeAll(async () => {
    const receiver = await listen(recordInto(received));
    receiverPort = receiver.port;
    const redirectTarget = await listen(recordInto(redirectTargetHits));
    redirectTargetPort = redirectTarget.port;
    const redirect = await listen((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${redirectTargetPort}/stolen` }).end();
    });
    redirectPort = redirect.port;
    const hanging = await listen(() => {
      // Never answers.
    });
    hangingPort = hanging.port;
    const bigBody = await listen((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 1024 && res.write(chunk)) sent++;
        if (sent >= 1024) res.end();
        else res.once('drain', pump);
      };
      res.on('error', () => undefined);
      pump();
    });
    bigBodyPort = bigBody.port;
    servers.push(receiver.server, redirectTarget.server, redirect.server, hanging.server);
    servers.push(bigBody.server);

    const closed = await listen(() => undefined);
    closedPort = closed.port;
    await close(closed.server);
  });

  afterAll(async () => {
    await Promise.all(servers.map(close));
  });

  it('delivers body and headers to an allowed address', async () => {
    const before = received.length;
    const outcome = await postWebhook(request(`http://127.0.0.1:${receiverPort}/hook?x=1`), {
      policy: loopbackPolicy,
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
    expect(received).toHaveLength(before + 1);
    const hit = received[before]!;
    expect(hit.method).toBe('POST');
    expect(hit.url).toBe('/hook?x=1');
    expect(hit.body).toBe('{"event":"FLAG_UPDATED"}');
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['x-flagward-signature']).toBe('abc123');
    expect(hit.headers['content-length']).toBe(String('{"event":"FLAG_UPDATED"}'.length));
    expect(hit.headers['host']).toBe(`127.0.0.1:${receiverPort}`);
  });

  it('blocks localhost under the default policy and sends nothing', async () => {
    const before = received.length;
    const outcome = await postWebhook(request(`http://localhost:${receiverPort}/`), {
      policy: defaultPolicy,
    });
    expect(outcome.kind).toBe('blocked');
    if (outcome.kind === 'blocked') expect(outcome.error).toMatch(/localhost .*loopback/);
    expect(received).toHaveLength(before);
  });

  it('blocks private IP literals, including bracketed and mapped IPv6', async () => {
    const before = received.length;
    for (const url of [
      `http://127.0.0.1:${receiverPort}/`,
      `http://[::1]:${receiverPort}/`,
      `http://[::ffff:127.0.0.1]:${receiverPort}/`,
      `http://0x7f.1:${receiverPort}/`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const outcome = await postWebhook(request(url), { policy: defaultPolicy });
      expect(outcome.kind, url).toBe('blocked');
    }
    expect(received).toHaveLength(before);
  });

  it('blocks a name when any resolved address is private', async () => {
    const before = received.length;
    const lookup: LookupFn = async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    const outcome = await postWebhook(request(`http://hooks.example.test:${receiverPort}/`), {
      policy: defaultPolicy,
      lookup,
    });
    expect(outcome.kind).toBe('blocked');
    if (outcome.kind === 'blocked') {
      expect(outcome.error).toContain('hooks.example.test');
      expect(outcome.error).toContain('127.0.0.1');
    }
    expect(received).toHaveLength(before);
  });

  it('connects to the vetted address without resolving the name again', async () => {
    const before = received.length;
    let calls = 0;
    // A rebinding resolver: the first answer is the vetted one, later ones would differ.
    const lookup: LookupFn = async () => {
      calls++;
      return calls === 1
        ? [{ address: '127.0.0.1', family: 4 }]
        : [{ address: '10.0.0.1', family: 4 }];
    };
    const outcome = await postWebhook(request(`http://hooks.example.test:${receiverPort}/x`), {
      policy: loopbackPolicy,
      lookup,
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
    expect(calls).toBe(1);
    expect(received).toHaveLength(before + 1);
    expect(received[before]!.headers['host']).toBe(`hooks.example.test:${receiverPort}`);
    expect(received[before]!.url).toBe('/x');
  });

  it('reports a failed resolution as a network error', async () => {
    const lookup: LookupFn = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example.test'), {
        code: 'ENOTFOUND',
      });
    };
    const outcome = await postWebhook(request('http://nowhere.example.test/'), {
      policy: defaultPolicy,
      lookup,
    });
    expect(outcome).toMatchObject({
      kind: 'network-error',
      error: 'getaddrinfo ENOTFOUND nowhere.example.test',
    });
  });

  it('returns a redirect as a response without following it', async () => {
    const before = redirectTargetHits.length;
    const outcome = await postWebhook(request(`http://127.0.0.1:${redirectPort}/`), {
      policy: loopbackPolicy,
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 302 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(redirectTargetHits).toHaveLength(before);
  });

  it('gives up on a receiver that never answers within the deadline', async () => {
    const started = Date.now();
    const outcome = await postWebhook(request(`http://127.0.0.1:${hangingPort}/`, 300), {
      policy: loopbackPolicy,
    });
    const elapsed = Date.now() - started;
    expect(outcome).toMatchObject({ kind: 'network-error', error: 'timed out after 300 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(300 + 500);
    expect(outcome.durationMs).toBeLessThan(300 + 500);
  });

  it('counts a slow DNS answer against the deadline', async () => {
    const lookup: LookupFn = () =>
      new Promise((resolve) =>
        setTimeout(() => resolve([{ address: '127.0.0.1', family: 4 }]), 1000),
      );
    const started = Date.now();
    const outcome = await postWebhook(request(`http://slow.example.test:${receiverPort}/`, 200), {
      policy: loopbackPolicy,
      lookup,
    });
    expect(outcome).toMatchObject({ kind: 'network-error', error: 'timed out after 200 ms' });
    expect(Date.now() - started).toBeLessThan(700);
  });

  it('reads at most a bounded amount of a large response', async () => {
    const outcome = await postWebhook(request(`http://127.0.0.1:${bigBodyPort}/`), {
      policy: loopbackPolicy,
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
  });

  it('reports a refused connection as a network error', async () => {
    const outcome = await postWebhook(request(`http://127.0.0.1:${closedPort}/`), {
      policy: loopbackPolicy,
    });
    expect(outcome).toMatchObject({
      kind: 'network-error',
      error: `connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    });
  });

  it('reports a TLS failure as a network error', async () => {
    const outcome = await postWebhook(request(`https://127.0.0.1:${receiverPort}/`), {
      policy: loopbackPolicy,
    });
    expect(outcome.kind).toBe('network-error');
  });

  it.each(['ftp://127.0.0.1/', 'file:///etc/passwd', 'not a url', 'javascript:alert(1)'])(
    'blocks the non-http URL %s',
    async (url) => {
      const outcome = await postWebhook(request(url), { policy: loopbackPolicy });
      expect(outcome.kind).toBe('blocked');
    },
  );

  it('rejects an invalid header value without throwing', async () => {
    const outcome = await postWebhook(
      { ...request(`http://127.0.0.1:${receiverPort}/`), headers: { 'x-bad': 'a\r\nb' } },
      { policy: loopbackPolicy },
    );
    expect(outcome.kind).toBe('network-error');
  });
});

describe('checkWebhookUrl', () => {
  const publicLookup: LookupFn = async () => [{ address: '93.184.215.14', family: 4 }];
  const privateLookup: LookupFn = async () => [
    { address: '93.184.215.14', family: 4 },
    { address: 'fd00::1', family: 6 },
  ];
  const failingLookup: LookupFn = async () => {
    throw new Error('getaddrinfo ENOTFOUND');
  };

  it.each([
    ['not a url', /not a valid absolute URL/],
    ['/relative/path', /not a valid absolute URL/],
    ['ftp://example.com/', /scheme ftp: is not allowed/],
    ['https://user:secret@example.com/', /username or password/],
    ['https://user@example.com/', /username or password/],
    [`https://example.com/${'a'.repeat(2000)}`, /longer than 2000/],
    ['http://10.0.0.1/hook', /10\.0\.0\.1 is a private address/],
    ['http://[::1]/hook', /::1 is a loopback address/],
    ['http://169.254.169.254/', /cloud metadata/],
  ])('rejects %s', async (url, message) => {
    expect(await checkWebhookUrl(url, { policy: defaultPolicy, lookup: publicLookup })).toMatch(
      message,
    );
  });

  it('rejects a name that resolves to a private address', async () => {
    expect(
      await checkWebhookUrl('https://hooks.example.test/x', {
        policy: defaultPolicy,
        lookup: privateLookup,
      }),
    ).toMatch(/hooks\.example\.test .*fd00::1/);
  });

  it('accepts public URLs and allow-listed addresses', async () => {
    const options = { policy: loopbackPolicy, lookup: publicLookup };
    expect(await checkWebhookUrl('https://hooks.example.test/x?y=1', options)).toBeNull();
    expect(await checkWebhookUrl('http://8.8.8.8:8080/', options)).toBeNull();
    expect(await checkWebhookUrl('http://127.0.0.1:9000/', options)).toBeNull();
    expect(await checkWebhookUrl('http://127.0.0.2:9000/', options)).toMatch(/loopback/);
  });

  it('accepts a name that does not resolve yet', async () => {
    expect(
      await checkWebhookUrl('https://not-yet.example.test/', {
        policy: defaultPolicy,
        lookup: failingLookup,
      }),
    ).toBeNull();
  });
});
