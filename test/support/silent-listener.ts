// A TCP listener that accepts connections, never answers, and counts them. A connection string
// pointing at it proves without a clock that a command never connected (the count stays 0), and
// makes a command that does connect wait out its whole server-selection timeout, so the driver's
// own error names the timeout it used ("Server selection timed out after 500 ms").
import { EventEmitter, once } from 'node:events';
import net from 'node:net';

export interface SilentListener {
  /** `mongodb://127.0.0.1:<port>`, for `--uri` or `createMigrator({ uri })`. */
  uri: string;
  /** `127.0.0.1:<port>`, as error messages name it. */
  address: string;
  /**
   * The connections accepted so far. Counted once every connection opened before the call has
   * been accepted: the call opens one of its own and waits for it, and the kernel hands accepted
   * connections over in the order they were made, so a client that exited a moment ago is counted.
   */
  connections(): Promise<number>;
  close(): Promise<void>;
}

export async function startSilentListener(): Promise<SilentListener> {
  const sockets = new Set<net.Socket>();
  /** The remote port of every connection accepted, in the order accepted. */
  const acceptedPorts: number[] = [];
  const probePorts = new Set<number>();
  const accepting = new EventEmitter();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    acceptedPorts.push(socket.remotePort ?? -1);
    accepting.emit('accepted');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('the silent listener has no port');
  const { port } = bound;
  const address = `127.0.0.1:${port}`;

  async function connectionsSoFar(): Promise<number> {
    const probe = net.connect(port, '127.0.0.1');
    const probePort = await new Promise<number>((resolve, reject) => {
      probe.once('error', reject);
      probe.once('connect', () => (probe.localPort === undefined ? reject(new Error('the probe connection has no local port')) : resolve(probe.localPort)));
    });
    probePorts.add(probePort);
    while (!acceptedPorts.includes(probePort)) await once(accepting, 'accepted');
    probe.destroy();
    return acceptedPorts.filter((remotePort) => !probePorts.has(remotePort)).length;
  }

  return {
    uri: `mongodb://${address}`,
    address,
    connections: connectionsSoFar,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
