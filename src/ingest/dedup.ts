/**
 * "Have we seen this vendor's lead id?" A repeated (vendor, vendorLeadId) within the window
 * gets the original leadId back instead of becoming a second lead. Concurrent repeats wait for
 * the first one's outcome; a failed first attempt is forgotten so a vendor retry can succeed.
 *
 * The memory is per ingest process (an LRU with TTL). Behind a load balancer without
 * stickiness a repeat that reaches another process is not caught here; the SMS dedup by phone
 * (per provider partition) still keeps the person from being texted twice.
 */
import { LRUCache } from 'lru-cache';

export class VendorLeadDedup {
  private readonly seen: LRUCache<string, Promise<string>>;

  constructor(windowMs: number, max: number) {
    this.seen = new LRUCache({ max, ttl: windowMs });
  }

  /**
   * Returns the original leadId if this vendor lead was seen, else runs `create` and remembers
   * the leadId it resolves to.
   */
  async once(vendor: string, vendorLeadId: string | null | undefined, create: () => Promise<string>): Promise<{ leadId: string; duplicate: boolean }> {
    if (!vendorLeadId) return { leadId: await create(), duplicate: false };
    const key = `${vendor}\u0000${vendorLeadId}`;
    const existing = this.seen.get(key);
    if (existing) {
      try {
        return { leadId: await existing, duplicate: true };
      } catch {
        // the first attempt failed: fall through and try again as a new lead
      }
    }
    const created = create();
    this.seen.set(key, created);
    try {
      return { leadId: await created, duplicate: false };
    } catch (err) {
      if (this.seen.get(key) === created) this.seen.delete(key);
      throw err;
    }
  }
}
