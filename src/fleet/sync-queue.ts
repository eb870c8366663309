/**
 * Runs an asynchronous task one at a time. A call while it runs queues one more run, which every
 * further call shares until it starts: each caller's promise settles after a run that started after
 * its call, so it sees what the caller changed. The task must not reject.
 */
export class SyncQueue {
  private readonly task: () => Promise<void>;
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(task: () => Promise<void>) {
    this.task = task;
  }

  run(): Promise<void> {
    if (this.queued === undefined) {
      const next = this.tail.then(async () => {
        this.queued = undefined;
        await this.task();
      });
      this.queued = next;
      this.tail = next;
    }
    return this.queued;
  }
}
