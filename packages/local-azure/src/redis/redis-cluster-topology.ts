/** Redis Cluster's key space: slots 0 to 16 383 (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/). */
export const clusterSlotCount = 16_384;

/** One line of `CLUSTER NODES`, as one node sees another. */
export interface ClusterNodesLine {
  id: string;
  tlsPort: number;
  flags: readonly string[];
  /** A replica's master id; undefined for a master. */
  masterId: string | undefined;
  linkState: 'connected' | 'disconnected';
  /** Inclusive ranges; importing/migrating markers (`[…]`) are left out. */
  slots: [number, number][];
}

/**
 * Parses `CLUSTER NODES`: `<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv>
 * <config-epoch> <link-state> <slot> …` (https://redis.io/docs/latest/commands/cluster-nodes/).
 * With `tls-cluster yes` the announced port is the TLS one.
 */
export function parseClusterNodes(reply: string): ClusterNodesLine[] {
  return reply
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , linkState = '', ...slots] =
        line.split(' ');
      const port = Number(/:(\d+)@/.exec(address)?.[1] ?? 0);
      return {
        id,
        tlsPort: port,
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        linkState: linkState === 'connected' ? 'connected' : 'disconnected',
        slots: slots
          .filter((slot) => !slot.startsWith('['))
          .map((slot) => {
            const [from = '0', to = from] = slot.split('-');
            return [Number(from), Number(to)] as [number, number];
          }),
      };
    });
}

export function isMaster(line: ClusterNodesLine): boolean {
  return line.flags.includes('master');
}

/** Whether the line describes a node in trouble or not yet joined (handshake, fail, noaddr…). */
export function isHealthy(line: ClusterNodesLine): boolean {
  return (
    line.linkState === 'connected' &&
    !line.flags.some((flag) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(flag))
  );
}

/** Master `index` of `masters`' share of the slots: contiguous ranges as `redis-cli --cluster create` makes them. */
export function slotRangeOf(index: number, masters: number): [number, number] {
  const from = Math.floor((index * clusterSlotCount) / masters);
  const to = Math.floor(((index + 1) * clusterSlotCount) / masters) - 1;
  return [from, to];
}

/** `cluster_state:ok` and the like, from `CLUSTER INFO`. */
export function parseClusterInfo(reply: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of reply.split('\n')) {
    const separator = line.indexOf(':');
    if (separator > 0) fields.set(line.slice(0, separator), line.slice(separator + 1).trim());
  }
  return fields;
}
