import { localizeTimes } from './ui.js';

localizeTimes();
const zone = document.getElementById('start-zone');
if (zone) zone.textContent = `(your time, ${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
