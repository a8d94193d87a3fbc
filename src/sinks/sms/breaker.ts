/**
 * A provider's circuit: after N consecutive failures it opens and the provider is skipped
 * (the lead falls back to the next provider at once) until the reset time passes; then one
 * trial send decides whether it closes again. Kept this small on purpose: the adapter already
 * owns timeouts and pacing, so all this needs is a failure count and a clock.
 */
export class ProviderCircuit {
  private failures = 0;
  private openUntil = 0;

  constructor(
    private readonly threshold: number,
    private readonly resetMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether a send may be tried now (closed, or half-open after the reset time). */
  allows(): boolean {
    return this.now() >= this.openUntil;
  }

  success(): void {
    this.failures = 0;
    this.openUntil = 0;
  }

  failure(): void {
    this.failures++;
    if (this.failures >= this.threshold) this.openUntil = this.now() + this.resetMs;
  }

  isOpen(): boolean {
    return !this.allows();
  }
}
