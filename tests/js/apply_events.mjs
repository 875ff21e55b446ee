// The page's state as static/js/state.js builds it, for tests/participation/test_verify_action.py:
// reads lines of `{"snapshot": ..., "events": [...], "commands": {ref: command}}` on stdin;
// for each, starts from the snapshot (fromSnapshot), applies every frame in order
// (applyEvent; an ack to one of `commands`, the commands this page sent by ref, through
// applyReply) and prints the resulting state as a line of JSON.

import { createInterface } from 'node:readline';

import { applyEvent, applyReply, fromSnapshot } from '../../static/js/state.js';

function stateAfter({ snapshot, events, commands = {} }) {
  const state = fromSnapshot(snapshot);
  for (const frame of events) {
    if (frame.type === 'ack') {
      const command = commands[frame.ref];
      if (command) applyReply(state, command, frame);
    } else if (frame.type !== 'error') {
      applyEvent(state, frame);
    }
  }
  return state;
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim()) process.stdout.write(`${JSON.stringify(stateAfter(JSON.parse(line)))}\n`);
}
