// One page of a person sends their camera: two tabs on stage (or two host consoles)
// would both answer every viewer's request for the same connection. The page that
// holds the lock (Web Locks, shared by a browser's tabs of this site) sends; another
// waits its turn and takes over if that page closes. Without Web Locks, every page sends.

export class PublishLock {
  constructor(name, { onGranted, onWaiting }) {
    this.name = name;
    this.onGranted = onGranted; // (takeover: boolean) => void
    this.onWaiting = onWaiting; // () => void: another page of this person sends
    this.held = !navigator.locks;
    this.asked = false;
    this.release = null;
  }

  claim() {
    if (this.held || this.asked) return;
    this.asked = true;
    const hold = (takeover) =>
      new Promise((resolve) => {
        this.held = true;
        this.asked = false;
        this.release = resolve;
        this.onGranted(takeover);
      });
    navigator.locks.request(this.name, { ifAvailable: true }, (lock) => {
      if (lock) return hold(false);
      this.onWaiting();
      navigator.locks.request(this.name, () => hold(true));
      return null;
    });
  }

  letGo() {
    if (!navigator.locks) return;
    this.release?.();
    this.held = false;
    this.asked = false;
    this.release = null;
  }
}
