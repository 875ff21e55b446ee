// The page helpers of static/js/ui.js that need no DOM: plural, sendCommand (with a
// stand-in socket and error box) and the settings kept in storage.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { LiveError } from '../../static/js/live.js';
import { plural, readSetting, sendCommand, writeSetting } from '../../static/js/ui.js';

describe('plural', () => {
  test('one is singular; zero and many are plural', () => {
    assert.equal(plural(1, 'like'), '1 like');
    assert.equal(plural(0, 'like'), '0 likes');
    assert.equal(plural(2, 'viewer'), '2 viewers');
    assert.equal(plural(12, 'star'), '12 stars');
  });
});

// What sendCommand needs of an error box: its text, and scrolling into view.
function errorBox(text = 'an earlier error') {
  return {
    textContent: text,
    scrolls: [],
    scrollIntoView(options) {
      this.scrolls.push(options);
    },
  };
}

function socketAnswering(answer) {
  const sent = [];
  return {
    sent,
    send(type, fields) {
      sent.push([type, fields]);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
}

describe('sendCommand', () => {
  test('sends the command, clears the box and resolves to the ack', async () => {
    const socket = socketAnswering({ type: 'ack', ref: '3', stars: 5 });
    const box = errorBox();
    const reply = await sendCommand(socket, box, 'rate', { stars: 5 });
    assert.deepEqual(reply, { type: 'ack', ref: '3', stars: 5 });
    assert.deepEqual(socket.sent, [['rate', { stars: 5 }]]);
    assert.equal(box.textContent, '');
    assert.deepEqual(box.scrolls, []);
  });

  test('clears the box before the reply comes', () => {
    const socket = { send: () => new Promise(() => {}) }; // never answers
    const box = errorBox();
    sendCommand(socket, box, 'like');
    assert.equal(box.textContent, '');
  });

  test('sends empty fields when given none', async () => {
    const socket = socketAnswering({ type: 'ack' });
    await sendCommand(socket, errorBox(), 'hand.raise');
    assert.deepEqual(socket.sent, [['hand.raise', {}]]);
  });

  test("shows an error reply's message and resolves to null", async () => {
    const socket = socketAnswering(new LiveError('conflict', 'The stage is full.'));
    const box = errorBox('');
    const reply = await sendCommand(socket, box, 'hand.approve', { attendee: 4 });
    assert.equal(reply, null);
    assert.equal(box.textContent, 'The stage is full.');
    assert.deepEqual(box.scrolls, []);
  });

  test('scrolls the box into view when asked', async () => {
    const socket = socketAnswering(new LiveError('forbidden', 'Only hosts can do that.'));
    const box = errorBox();
    await sendCommand(socket, box, 'stage.remove', { attendee: 2 }, { scroll: true });
    assert.equal(box.textContent, 'Only hosts can do that.');
    assert.deepEqual(box.scrolls, [{ block: 'nearest' }]);
  });

  test('works without a box', async () => {
    assert.equal(await sendCommand(socketAnswering(new LiveError('timeout', 'Late.')), null, 'like'), null);
    assert.deepEqual(await sendCommand(socketAnswering({ type: 'ack' }), null, 'like'), { type: 'ack' });
  });
});

describe('settings in storage', () => {
  afterEach(() => {
    delete globalThis.localStorage;
  });

  test('are read and written through localStorage', () => {
    const values = new Map();
    globalThis.localStorage = {
      getItem: (key) => (values.has(key) ? values.get(key) : null),
      setItem: (key, value) => values.set(key, String(value)),
    };
    assert.equal(readSetting('primetime:muted'), null);
    writeSetting('primetime:muted', '1');
    assert.deepEqual([...values], [['primetime:muted', '1']]);
    assert.equal(readSetting('primetime:muted'), '1');
  });

  test('blocked storage reads as nothing and writes nowhere, without throwing', () => {
    globalThis.localStorage = {
      getItem() {
        throw new DOMException('The operation is insecure.', 'SecurityError');
      },
      setItem() {
        throw new DOMException('The operation is insecure.', 'SecurityError');
      },
    };
    assert.equal(readSetting('primetime:guest'), null);
    assert.doesNotThrow(() => writeSetting('primetime:guest', 'token'));
  });

  test('no storage at all (a frame denied it entirely) is the same', () => {
    delete globalThis.localStorage;
    assert.equal(readSetting('primetime:guest'), null);
    assert.doesNotThrow(() => writeSetting('primetime:guest', 'token'));
  });
});
