// "Starts in 2 days 3 h 04 min" under a broadcast that has not gone live yet.

function parts(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  return {
    days: Math.floor(total / 86400),
    hours: Math.floor((total % 86400) / 3600),
    minutes: Math.floor((total % 3600) / 60),
    seconds: total % 60,
  };
}

export function countdownText(ms) {
  if (ms <= 0) return 'Starting any moment now';
  const { days, hours, minutes, seconds } = parts(ms);
  const pad = (n) => String(n).padStart(2, '0');
  if (days > 0) return `Starts in ${days} day${days === 1 ? '' : 's'} ${hours} h ${pad(minutes)} min`;
  if (hours > 0) return `Starts in ${hours} h ${pad(minutes)} min ${pad(seconds)} s`;
  return `Starts in ${minutes} min ${pad(seconds)} s`;
}

// Keep every [data-countdown] element of `scope` current, once a second.
export function startCountdowns(scope = document) {
  const elements = [...scope.querySelectorAll('[data-countdown]')];
  const tick = () => {
    for (const element of elements) {
      const start = new Date(element.dataset.countdown);
      if (!Number.isNaN(start.valueOf())) element.textContent = countdownText(start - Date.now());
    }
  };
  tick();
  return elements.length ? setInterval(tick, 1000) : null;
}
