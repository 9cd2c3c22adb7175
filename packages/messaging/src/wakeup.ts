/**
 * A wake-up call for one waiting loop: `wait` resolves at the next `wake`, after the timeout, or
 * at once when a `wake` came since the last wait — so a notification that arrives while the loop
 * is busy (between its query and its wait) is never lost.
 */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | null = null;

  wake(): void {
    if (this.#resolve) this.#resolve();
    else this.#pending = true;
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#resolve = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.#resolve = done;
    });
  }
}
