import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningProcess {
  pid: number;
  /** The server's working directory: postgres's data folder, redis's temporary folder. */
  cwd: string;
}

/** Finds the process listening on 127.0.0.1:<port> through /proc: the launchers do not expose pids or folders. */
export function findListeningProcess(port: number): ListeningProcess | undefined {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === `0100007F:${portHex}` && fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
  }
  if (inodes.size === 0) return undefined;
  const pids = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .sort((left, right) => left - right);
  for (const pid of pids) {
    let descriptors: string[];
    try {
      descriptors = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const descriptor of descriptors) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${descriptor}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) return { pid, cwd: readlinkSync(`/proc/${pid}/cwd`) };
      } catch {}
    }
  }
  return undefined;
}

export function processIsGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
