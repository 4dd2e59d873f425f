/**
 * Each Pod gets its own loopback address 127.1.x.y as status.podIP, so two
 * pods can listen on the same port (any 127/8 address binds without set-up).
 */
export function podIpForIndex(index: number): string {
  if (index < 0 || index >= 256 * 254) throw new Error(`pod IP index ${index} out of range`);
  return `127.1.${Math.floor(index / 254)}.${(index % 254) + 1}`;
}

export class PodIpAllocator {
  /** Starts at index `next`, so kubelets running side by side can hand out different addresses. */
  constructor(private next = 0) {}
  private readonly inUse = new Map<string, string>(); // uid → ip

  /** Keeps an address the API already shows for this pod (kubelet restart), else takes the next free one. */
  allocate(uid: string, previous?: string): string {
    const existing = this.inUse.get(uid);
    if (existing) return existing;
    const taken = new Set(this.inUse.values());
    let ip = previous && previous.startsWith('127.1.') && !taken.has(previous) ? previous : undefined;
    while (!ip) {
      const candidate = podIpForIndex(this.next);
      this.next = (this.next + 1) % (256 * 254);
      if (!taken.has(candidate)) ip = candidate;
    }
    this.inUse.set(uid, ip);
    return ip;
  }

  release(uid: string): void {
    this.inUse.delete(uid);
  }
}
