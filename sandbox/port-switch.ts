/**
 * Opens and closes a server's listening port on demand: the `refuse` fault mode. Closing also
 * drops open connections, because a keep-alive connection would otherwise still reach a server
 * that is meant to be gone. Changes run one after another, so refuse → healthy → refuse in quick
 * succession ends as asked; reopening reuses the port the OS first gave, so URLs stay valid.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export class PortSwitch {
  private listening = false;
  private chain: Promise<void> = Promise.resolve();
  private port = 0;

  constructor(
    private readonly server: http.Server,
    private readonly host: string,
  ) {}

  /** First listen; returns the port (the OS picks one for 0). */
  async open(port: number): Promise<number> {
    await this.listen(port);
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Resolves once the port is listening (open) or refusing (closed); rejects when it cannot listen again. */
  set(open: boolean): Promise<void> {
    const step = this.chain
      .catch(() => {})
      .then(async () => {
        if (open === this.listening) return;
        if (open) await this.listen(this.port);
        else await this.stop();
      });
    this.chain = step;
    return step;
  }

  private listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        this.listening = true;
        resolve();
      });
    });
  }

  private stop(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.listening = false;
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
