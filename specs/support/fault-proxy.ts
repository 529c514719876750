/**
 * A TCP proxy on 127.0.0.1 for fault specs: forwards bytes both ways, and can
 *
 * - `freeze()`: stop forwarding in both directions while keeping every socket open — to each end the
 *   other is alive at the TCP level but never answers (a half-open connection, a hung peer);
 * - `cut()`: destroy every connection through it (the peer vanishes);
 * - `refuse()` / `accept()`: drop new connections at once, or take them again.
 *
 * New connections made while frozen are frozen too, until `thaw()`.
 */
import net from 'node:net';

export interface FaultProxy {
  readonly port: number;
  /** Connections made through it so far. */
  readonly accepted: number;
  /** Connection pairs open now. */
  readonly open: number;
  freeze(): void;
  thaw(): void;
  cut(): void;
  refuse(): void;
  accept(): void;
  close(): Promise<void>;
}

interface Link {
  inbound: net.Socket;
  outbound: net.Socket;
}

export async function startFaultProxy(target: number, host = '127.0.0.1'): Promise<FaultProxy> {
  const links = new Set<Link>();
  let accepted = 0;
  let frozen = false;
  let refusing = false;

  const forward = (link: Link, on: boolean) => {
    const { inbound, outbound } = link;
    if (on) {
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    } else {
      inbound.unpipe(outbound);
      outbound.unpipe(inbound);
      inbound.pause();
      outbound.pause();
    }
  };

  const server = net.createServer((inbound) => {
    inbound.on('error', () => {});
    if (refusing) {
      inbound.destroy();
      return;
    }
    accepted++;
    const outbound = net.connect(target, host);
    outbound.on('error', () => {});
    const link = { inbound, outbound };
    links.add(link);
    const drop = () => {
      links.delete(link);
      inbound.destroy();
      outbound.destroy();
    };
    // While frozen, one side closing is not passed on either: the other end must find out by itself.
    inbound.on('close', () => {
      if (!frozen) drop();
    });
    outbound.on('close', () => {
      if (!frozen) drop();
    });
    forward(link, !frozen);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const cut = () => {
    for (const l of links) {
      l.inbound.destroy();
      l.outbound.destroy();
    }
    links.clear();
  };
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return links.size;
    },
    freeze() {
      frozen = true;
      for (const l of links) forward(l, false);
    },
    thaw() {
      frozen = false;
      for (const l of [...links]) {
        if (l.inbound.destroyed || l.outbound.destroyed) {
          links.delete(l);
          l.inbound.destroy();
          l.outbound.destroy();
        } else forward(l, true);
      }
    },
    cut,
    refuse() {
      refusing = true;
    },
    accept() {
      refusing = false;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
