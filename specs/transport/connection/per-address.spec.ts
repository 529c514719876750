import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Identity } from '../../../src/auth/index.js';
import { addressKey } from '../../../src/transport/connection/address-key.js';
import { dialTls, listenTls } from '../../../src/transport/connection/index.js';
import { isTransportError } from '../../../src/transport/errors.js';
import { closeAll, drain, refusals, until } from './helpers.js';

const server = Identity.generate();
const alice = Identity.generate();
const authorizedKeys = [{ key: alice.id, name: 'alice' }];

/** A raw TCP socket from `localAddress`, connected and silent. */
function idle(port: number, localAddress: string, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress }, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * An attacker from 127.0.0.1 keeping `count` idle sockets open, reopening each one (10 ms later) as
 * the server drops it; at most `maxOpens` opens in all. `stop()` destroys every socket it holds.
 */
function idleFlood(port: number, count: number, maxOpens: number) {
  const sockets = new Set<net.Socket>();
  let opens = 0;
  let stopped = false;
  const open = () => {
    if (stopped || opens >= maxOpens) return;
    opens++;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      sockets.delete(socket);
      setTimeout(open, 10);
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    get open() {
      return sockets.size;
    },
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

const dialFrom = (port: number, localAddress: string) =>
  dialTls({ identity: alice, host: '127.0.0.1', port, localAddress, serverKey: server.id, session: false });

describe('TLS listener: limits per source address', () => {
  it('500 idle sockets from one address, reopened as they are dropped, do not lock out a client from another', async () => {
    const r = refusals();
    // The defaults: maxHandshakes 64, maxHandshakesPerAddress 8, firstBytesTimeoutMs 1000.
    const listener = await listenTls(
      { identity: server, authorizedKeys, onRefused: r.onRefused },
      () => undefined,
    );
    const flood = idleFlood(listener.port, 500, 20_000);
    try {
      await until(() => flood.open >= 400, 5000, 'the flood is up');
      for (let attempt = 0; attempt < 5; attempt++) {
        const started = Date.now();
        const connection = await dialFrom(listener.port, '127.0.0.2');
        const took = Date.now() - started;
        connection.socket.destroy();
        assert.ok(took < 1000, `attempt ${attempt}: connected after ${took} ms`);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      const perAddress = r.events.filter(
        (e) => e.reason === 'HANDSHAKE_LIMIT' && /maxHandshakesPerAddress \(8\)/.test(e.error.message),
      );
      assert.ok(perAddress.length > 0, 'the per-address handshake limit was reached');
      assert.ok(perAddress.every((e) => e.remoteHost === '127.0.0.1'));
      assert.ok(listener.handshakes <= 8, `${listener.handshakes} handshakes in progress`);
    } finally {
      flood.stop();
      await closeAll(listener);
    }
  });

  it('beyond maxHandshakesPerAddress a dialer gets CONNECTION_LIMIT "server busy", other addresses do not', async () => {
    const r = refusals();
    const listener = await listenTls(
      {
        identity: server,
        authorizedKeys,
        maxHandshakesPerAddress: 2,
        firstBytesTimeoutMs: 0,
        handshakeTimeoutMs: 20_000,
        onRefused: r.onRefused,
      },
      () => undefined,
    );
    const holders: net.Socket[] = [];
    try {
      holders.push(await idle(listener.port, '127.0.0.1'), await idle(listener.port, '127.0.0.1'));
      await until(() => listener.handshakes === 2);
      await assert.rejects(
        dialFrom(listener.port, '127.0.0.1'),
        (err: unknown) =>
          isTransportError(err, 'CONNECTION_LIMIT') &&
          err.remoteCode === 'OVERLOADED' &&
          /^server busy/.test(err.message),
      );
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.reason, 'HANDSHAKE_LIMIT');
      assert.match(r.events[0]!.error.message, /maxHandshakesPerAddress \(2\) for 127\.0\.0\.1/);
      (await dialFrom(listener.port, '127.0.0.2')).socket.destroy();
      for (const h of holders) h.destroy();
      await until(() => listener.handshakes === 0);
      (await dialFrom(listener.port, '127.0.0.1')).socket.destroy();
    } finally {
      for (const h of holders) h.destroy();
      await closeAll(listener);
    }
  });

  it('beyond maxConnectionsPerAddress a client is rejected OVERLOADED after TLS; a closed connection frees its slot', async () => {
    const r = refusals();
    const listener = await listenTls(
      { identity: server, authorizedKeys, maxConnectionsPerAddress: 2, onRefused: r.onRefused },
      () => undefined,
    );
    try {
      const first = await dialFrom(listener.port, '127.0.0.1');
      const second = await dialFrom(listener.port, '127.0.0.1');
      await until(() => listener.connections === 2);
      await assert.rejects(
        dialFrom(listener.port, '127.0.0.1'),
        (err: unknown) =>
          isTransportError(err, 'CONNECTION_LIMIT') &&
          err.remoteCode === 'OVERLOADED' &&
          /server busy: at maxConnectionsPerAddress \(2\) for 127\.0\.0\.1/.test(err.message),
      );
      assert.deepEqual(r.reasons(), ['OVERLOADED']);
      assert.equal(r.events[0]!.remoteHost, '127.0.0.1');
      const other = await dialFrom(listener.port, '127.0.0.2');
      first.socket.destroy();
      await until(() => listener.connections === 2);
      const again = await dialFrom(listener.port, '127.0.0.1');
      for (const c of [second, other, again]) c.socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('drops a socket that sends nothing within firstBytesTimeoutMs, long before the handshake timeout', async () => {
    const r = refusals();
    const listener = await listenTls(
      {
        identity: server,
        authorizedKeys,
        firstBytesTimeoutMs: 200,
        handshakeTimeoutMs: 10_000,
        onRefused: r.onRefused,
      },
      () => undefined,
    );
    try {
      const socket = await idle(listener.port, '127.0.0.1');
      const started = Date.now();
      const result = await drain(socket, 5000);
      assert.ok(result.closed);
      const took = Date.now() - started;
      assert.ok(took >= 150 && took < 2000, `dropped after ${took} ms`);
      assert.deepEqual(r.reasons(), ['HANDSHAKE_TIMEOUT']);
      assert.match(r.events[0]!.error.message, /firstBytesTimeoutMs/);
      assert.equal(listener.handshakes, 0);
      // A client that speaks at once is not affected.
      (await dialFrom(listener.port, '127.0.0.1')).socket.destroy();
    } finally {
      await closeAll(listener);
    }
  });

  it('counts an IPv4 client of a dual-stack listener (::ffff:a.b.c.d) as its IPv4 address', async () => {
    const r = refusals();
    const listener = await listenTls(
      {
        identity: server,
        authorizedKeys,
        host: '::',
        maxHandshakesPerAddress: 1,
        firstBytesTimeoutMs: 0,
        handshakeTimeoutMs: 20_000,
        onRefused: r.onRefused,
      },
      () => undefined,
    );
    const holder = await idle(listener.port, '127.0.0.1');
    try {
      await until(() => listener.handshakes === 1);
      await assert.rejects(dialFrom(listener.port, '127.0.0.1'), (err: unknown) =>
        isTransportError(err, 'CONNECTION_LIMIT'),
      );
      await until(() => r.events.length === 1);
      assert.equal(r.events[0]!.remoteHost, '::ffff:127.0.0.1');
      assert.match(r.events[0]!.error.message, /for 127\.0\.0\.1$/);
    } finally {
      holder.destroy();
      await closeAll(listener);
    }
  });

  it('groups addresses: IPv4 alone, IPv4-mapped IPv6 as IPv4, other IPv6 by /64', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::FFFF:cb00:7107'), '203.0.113.7');
    assert.equal(addressKey('0:0:0:0:0:ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey(undefined), undefined);
    assert.equal(addressKey('not an address'), undefined);
  });
});
