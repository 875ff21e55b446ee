// The side panel's tabs (WAI-ARIA tabs pattern): one panel shown at a time, arrow keys
// move between tabs, and a tab that is not open carries a count of what it holds that
// was not seen yet (or, with `count`, a number always shown, like raised hands waiting).
// Where the panel is a bottom sheet (the host console on a phone), its handle folds it
// down to the tab row, by a press or a swipe; a folded panel shows nothing, so its
// counts keep going up, and pressing a tab opens it again.

export class Tabs {
  constructor(list, { onChange = () => {} } = {}) {
    this.list = list;
    this.onChange = onChange;
    this.tabs = [...list.querySelectorAll('[role="tab"]')];
    this.seen = new Map(); // tab name -> the count seen while it was open
    this.counts = new Map();
    for (const tab of this.tabs) {
      // Each tab's count: a number to see, and words for assistive technology.
      const badge = document.createElement('span');
      badge.className = 'tab-badge';
      badge.hidden = true;
      badge.innerHTML = '<span aria-hidden="true"></span><span class="visually-hidden"></span>';
      tab.append(badge);
      tab.addEventListener('click', () => this.select(tab.dataset.tab, { focus: false }));
      tab.addEventListener('keydown', (event) => this.keydown(event, tab));
    }
    // Something inside a closed panel asks to be seen (the lead form the host asked for).
    list.closest('.side-panel')?.addEventListener('primetime:reveal', (event) => {
      const panel = event.target.closest('[role="tabpanel"]');
      if (panel) this.select(panel.dataset.panel, { focus: false });
    });
    this.sheet = list.closest('.side-panel');
    this.handle = this.sheet?.querySelector('[data-sheet-handle]') || null;
    this.foldedByHand = false;
    if (this.handle) this.makeFoldable();
    this.select(this.tabs.find((tab) => tab.getAttribute('aria-selected') === 'true')?.dataset.tab || this.tabs[0].dataset.tab, { focus: false });
  }

  // Folded only where the handle shows (a phone); a wider window unfolds the sheet.
  get folded() {
    return this.foldedByHand && this.handle.checkVisibility();
  }

  fold(folded) {
    this.foldedByHand = folded;
    this.sheet.dataset.sheet = folded ? 'folded' : 'open';
    this.handle.setAttribute('aria-expanded', String(!folded));
    this.handle.querySelector('[data-sheet-word]').textContent = folded ? 'Show panels' : 'Hide panels';
    const name = this.current;
    if (!folded && this.counts.has(name)) this.seen.set(name, this.counts.get(name));
    for (const tab of this.tabs) this.renderUnread(tab.dataset.tab);
    this.onChange(name);
  }

  makeFoldable() {
    let start = null;
    let swiped = false;
    this.handle.addEventListener('pointerdown', (event) => {
      start = event.clientY;
      swiped = false;
      this.handle.setPointerCapture(event.pointerId); // the finger leaves the handle
    });
    this.handle.addEventListener('pointerup', (event) => {
      if (start === null) return;
      const moved = event.clientY - start;
      start = null;
      if (Math.abs(moved) < 24) return; // a press: the click below
      swiped = true;
      this.fold(moved > 0);
    });
    this.handle.addEventListener('click', () => {
      if (!swiped) this.fold(!this.foldedByHand);
      swiped = false;
    });
  }

  get current() {
    return this.tabs.find((tab) => tab.getAttribute('aria-selected') === 'true')?.dataset.tab;
  }

  panel(name) {
    return document.getElementById(this.tab(name).getAttribute('aria-controls'));
  }

  tab(name) {
    return this.tabs.find((tab) => tab.dataset.tab === name);
  }

  select(name, { focus = true } = {}) {
    if (this.folded) this.fold(false);
    for (const tab of this.tabs) {
      const selected = tab.dataset.tab === name;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      this.panel(tab.dataset.tab).hidden = !selected;
    }
    if (this.counts.has(name)) this.seen.set(name, this.counts.get(name));
    this.renderUnread(name);
    if (focus) this.tab(name).focus();
    this.onChange(name);
  }

  keydown(event, tab) {
    const visible = this.tabs.filter((each) => !each.hidden);
    const index = visible.indexOf(tab);
    const next = {
      ArrowRight: visible[(index + 1) % visible.length],
      ArrowLeft: visible[(index - 1 + visible.length) % visible.length],
      Home: visible[0],
      End: visible[visible.length - 1],
    }[event.key];
    if (!next) return;
    event.preventDefault();
    this.select(next.dataset.tab);
  }

  // How many items the tab holds now: those beyond what was seen while it was open
  // show as unread on it.
  track(name, count) {
    this.counts.set(name, count);
    if ((this.current === name && !this.folded) || !this.seen.has(name)) this.seen.set(name, count);
    this.renderUnread(name);
  }

  unread(name) {
    return Math.max(0, (this.counts.get(name) ?? 0) - (this.seen.get(name) ?? 0));
  }

  renderUnread(name) {
    if (!this.counts.has(name)) return;
    this.count(name, this.current === name && !this.folded ? 0 : this.unread(name), 'new');
  }

  // A number on the tab (shown whether it is open or not, when called directly).
  count(name, count, description) {
    const badge = this.tab(name).querySelector('.tab-badge');
    badge.hidden = count === 0;
    badge.querySelector('[aria-hidden]').textContent = String(count);
    badge.querySelector('.visually-hidden').textContent = count ? `(${count} ${description})` : '';
  }
}

// Ask the side panel to show the tab that holds `element`.
export function reveal(element) {
  element.dispatchEvent(new CustomEvent('primetime:reveal', { bubbles: true }));
}
