// The widget of a broadcast this visitor may not watch here: it only opens and folds.
const fold = document.getElementById('widget-fold');
const panel = document.getElementById('widget');
const show = (open) => {
  panel.hidden = !open;
  fold.hidden = open;
  document.body.dataset.folded = String(!open);
  const height = open ? null : Math.ceil(fold.getBoundingClientRect().height);
  window.parent?.postMessage({ type: 'primetime:widget', open, height }, '*');
};
fold.querySelector('[data-widget="open"]').addEventListener('click', () => show(true));
panel.querySelector('[data-widget="close"]').addEventListener('click', () => show(false));
document.getElementById('fold-status').textContent = 'Sign in to watch';
