/**
 * A provider's circuit: after N consecutive failures it opens and the provider is skipped
 * (the lead falls back to the next provider at once) until the reset time passes; then one
 * trial text decides whether it closes again, and every other text keeps falling back while that
 * trial is out. Kept this small on purpose: the adapter already owns timeouts and pacing, so all
 * this needs is a failure count and a clock.
 *
 * The reset is short (5 s by default) because a trial is cheap: one text, which a provider still
 * down refuses and which then falls back as it would have. (A whole job of 100 as the trial cost,
 * every 5 s of an outage, 100 intents recorded and marked failed in the store and taken over at
 * the next provider: the load that held the fallback provider's texts past their window.) A long one keeps a recovered provider's texts on the
 * fallback for up to that long (chaos run: Twilio idle 12.8 s after its outage with 30 s).
 */
export class ProviderCircuit {
  private failures = 0;
  private openUntil = 0;

  constructor(
    private readonly threshold: number,
    private readonly resetMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Whether a send may be tried now. When the circuit is open and its reset time has passed, the
   * first caller gets the trial and the circuit stays open for everyone else for another reset
   * time, unless the trial answers first (success closes it, failure opens it again).
   */
  allows(): boolean {
    return this.admit() !== 'none';
  }

  /** As allows(), saying how many texts may go: all (closed), one (the trial) or none (open). */
  admit(): 'all' | 'one' | 'none' {
    const now = this.now();
    if (now < this.openUntil) return 'none';
    if (this.failures < this.threshold) return 'all';
    this.openUntil = now + this.resetMs; // half-open: this caller's trial
    return 'one';
  }

  success(): void {
    this.failures = 0;
    this.openUntil = 0;
  }

  failure(): void {
    this.failures++;
    if (this.failures >= this.threshold) this.openUntil = this.now() + this.resetMs;
  }

  /** For the metric: open, or half-open with a trial out. Does not take the trial. */
  isOpen(): boolean {
    return this.failures >= this.threshold;
  }
}
