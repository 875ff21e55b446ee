/*
 * PrimeTime widget loader. Put on any website:
 *   <script src="https://primetime.example.com/static/js/embed.js" data-broadcast="<slug>" async></script>
 * It adds one iframe, floating at the bottom right, and nothing else: no global
 * variables, no stylesheet; it listens only to its iframe's messages and to resizes.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || script.dataset.primetimeMounted) return;
  script.dataset.primetimeMounted = 'true';
  var slug = script.dataset.broadcast;
  if (!slug || !/^[-a-zA-Z0-9_]+$/.test(slug)) {
    if (window.console) console.warn('PrimeTime: set data-broadcast to the broadcast\'s slug.');
    return;
  }
  var origin = new URL(script.src, location.href).origin;
  var FOLDED = { width: '300px', height: '72px' };
  var OPEN = { width: 'min(400px, calc(100vw - 16px))', height: 'min(720px, calc(100vh - 16px))' };
  var PHONE = { width: '100vw', height: '100vh' };

  // The widget's guest token, kept here too: the iframe may be denied its own storage.
  var TOKEN_KEY = 'primetime:guest:' + origin;
  var token = null;
  try {
    token = window.localStorage.getItem(TOKEN_KEY);
  } catch (e) {
    token = null;
  }

  var frame = document.createElement('iframe');
  frame.src = origin + '/b/' + encodeURIComponent(slug) + '/embed/' +
    (token ? '#guest=' + encodeURIComponent(token) : '');
  frame.title = 'Live broadcast';
  frame.setAttribute('allow', 'camera; microphone; autoplay; fullscreen; display-capture');
  frame.setAttribute('data-primetime-widget', slug);
  // Inline styles on our own element only: the page's CSS is left alone.
  var base = {
    position: 'fixed', right: '8px', bottom: '8px', border: '0', margin: '0', padding: '0',
    zIndex: '2147483000', background: 'transparent', colorScheme: 'normal', maxWidth: 'none',
    maxHeight: 'none', display: 'block', borderRadius: '0', boxShadow: 'none',
  };
  var key;
  for (key in base) frame.style[key] = base[key];

  var foldedHeight = FOLDED.height;
  var foldedWidth = FOLDED.width;

  function size(open) {
    var phone = window.innerWidth < 480;
    var chosen = open ? (phone ? PHONE : OPEN) : FOLDED;
    frame.style.width = open ? chosen.width : foldedWidth;
    frame.style.height = open ? chosen.height : foldedHeight;
    frame.style.right = open && phone ? '0' : '8px';
    frame.style.bottom = open && phone ? '0' : '8px';
    frame.setAttribute('data-open', open ? 'true' : 'false');
  }
  size(false);

  window.addEventListener('message', function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (data && data.type === 'primetime:guest' && typeof data.token === 'string') {
      try {
        window.localStorage.setItem(TOKEN_KEY, data.token.slice(0, 200));
      } catch (e) {
        // The page's storage is blocked too: the viewer is new on each visit.
      }
      return;
    }
    if (!data || data.type !== 'primetime:widget') return;
    // The folded widget says how much room its pill takes, to cover no more of the page.
    if (!data.open && typeof data.height === 'number' && data.height > 0 && data.height < 400) {
      foldedHeight = Math.ceil(data.height) + 'px';
    }
    if (!data.open && typeof data.width === 'number' && data.width >= 80 && data.width <= 400) {
      foldedWidth = Math.ceil(data.width) + 'px';
    }
    size(Boolean(data.open));
  });

  window.addEventListener('resize', function () {
    size(frame.getAttribute('data-open') === 'true');
  });

  function mount() {
    document.body.appendChild(frame);
  }
  function mountWhenReady() {
    if (document.body) mount();
    else document.addEventListener('DOMContentLoaded', mount);
  }
  // Ask first whether this website may show the widget: the browser would refuse the
  // frame without a word of why.
  var check = origin + '/b/' + encodeURIComponent(slug) + '/embed/allowed/';
  if (!window.fetch) {
    mountWhenReady();
    return;
  }
  window.fetch(check, { credentials: 'omit' })
    .then(function (response) {
      return response.json().then(function (answer) {
        return { status: response.status, answer: answer };
      });
    })
    .then(function (result) {
      if (result.status === 404) {
        console.error('PrimeTime: there is no broadcast "' + slug + '" at ' + origin + '.');
      } else if (result.answer.allowed === false) {
        console.error('PrimeTime: this website (' + location.origin + ') may not show the ' +
          'widget of "' + slug + '". Add ' + location.origin + ' under Embed sites in ' +
          'PrimeTime\'s admin (or to PRIMETIME_EMBED_ORIGINS).');
      } else {
        mountWhenReady();
      }
    })
    .catch(function () {
      // PrimeTime cannot be asked (offline, an error page): mount anyway.
      mountWhenReady();
    });
})();
